"""GET /health reports stuck chain transactions; GET /outbox/stuck lists them, for operators only.

A house without a chain leaves every chain call planned, so its rows age in place: with a threshold of
a millisecond they are stuck at once.
"""

from __future__ import annotations

import dataclasses

from clearing.settings import WriterSettings


def _threshold(house, seconds: float) -> None:
    """Serve with another stuck threshold (and forget /health's last reading)."""
    settings = house.ctx.settings.model_copy(update={"writer": WriterSettings(stuck_seconds=seconds)})
    house.client.app.state.ctx = dataclasses.replace(house.ctx, settings=settings)
    house.client.app.state.health = (float("-inf"), None)


def test_health_is_ok_while_nothing_waits_too_long(house):
    body = house.client.get("/health").json()
    # three admissions wait for a process with the chain; none for long yet
    assert body["status"] == "ok" and body["writer"] is False and body["detail"] is None
    assert body["outbox"]["pending"] == 3 and body["outbox"]["stuck"] == 0
    assert body["outbox"]["stuck_after_seconds"] == 300


def test_health_is_degraded_and_the_operator_sees_the_stuck_rows(house):
    _threshold(house, 0.001)
    r = house.client.get("/health")
    assert r.status_code == 200  # alive: degraded, not down
    body = r.json()
    assert body["status"] == "degraded" and body["outbox"]["stuck"] == 3
    assert body["outbox"]["oldest_seconds"] >= 0 and "3 chain transaction(s)" in body["detail"]

    stuck = house.get("operator", "/outbox/stuck").json()
    assert stuck["count"] == 3 and stuck["stuck_after_seconds"] == 0
    assert [(r["kind"], r["member"], r["state"]) for r in stuck["rows"]] == [
        ("register_member", name, "planned") for name in ("alpha", "beta", "gamma")
    ]
    assert all(r["hashes"] == [] and r["nonce"] is None and r["age_seconds"] >= 0 for r in stuck["rows"])
    assert [r["member"] for r in house.get("operator", "/outbox/stuck?limit=1").json()["rows"]] == ["alpha"]


def test_only_operators_list_stuck_rows(house):
    assert house.client.get("/outbox/stuck").status_code == 401
    for who in ("auditor", "alpha"):
        r = house.get(who, "/outbox/stuck")
        assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
    r = house.get("operator", "/outbox/stuck?limit=0")
    assert r.status_code == 422 and r.json()["field"] == "limit"
