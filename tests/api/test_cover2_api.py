"""GET /cover2 and POST /cover2/run on the real app, ledger and in-process chain: operators only, exact
amounts as decimal strings, 503 without a chain."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import get_args

from clearing.api.schemas.alerts import AlertKindName
from clearing.domain.alerts import AlertKind

TOK = 10**6


def test_operators_read_and_run_cover2(settling_house):
    h = settling_house
    h.add("alpha", 1, collateral=100 * TOK)
    h.add("beta", 2, collateral=10_000 * TOK)
    pin = {
        "reason": "cover 2 api test",
        "expires_at": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
        "tier": "A",
        "credit_line": str(500 * TOK),
        "above_cap": True,
    }
    assert h.post("operator", "/members/alpha/credit/override", pin).status_code == 201, "line pinned"
    h.sync()
    ob = {"id": "c2-1", "debtor": "alpha", "creditor": "beta", "amount": str(300 * TOK)}
    r = h.post("alpha", "/obligations", ob)
    assert r.status_code == 201 and r.json()["obligation"]["status"] == "accepted", r.text

    first = h.get("operator", "/cover2")  # none yet: computed on first read
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["trigger"] == "first_read" and body["cycle_id"] is None
    assert body["members"] == [
        {
            "member": "alpha",
            "drawn": "0",
            "in_flight_net_debit": str(300 * TOK),
            "collateral": str(100 * TOK),
            "exposure": str(200 * TOK),
        }
    ]
    assert (body["loss"], body["resources"], body["surplus"], body["covered"]) == (
        str(200 * TOK),
        "0",
        str(-200 * TOK),
        False,
    )
    assert body["coverage_bps"] == "0"
    assert h.get("operator", "/cover2").json() == body  # read again: the same snapshot

    h.contracts.token.mint(h.contracts.chain.accounts[9].address, 10**30)
    h.contracts.token.approve(h.contracts.house.address, 10**30, sender=h.contracts.chain.accounts[9])
    h.contracts.house.pool_deposit(10**30, sender=h.contracts.chain.accounts[9])
    ran = h.post("operator", "/cover2/run")
    assert ran.status_code == 200, ran.text
    out = ran.json()
    assert out["id"] > body["id"] and out["trigger"] == "manual" and out["covered"] is True
    assert out["resources"] == str(10**30) and out["surplus"] == str(10**30 - 200 * TOK)
    assert out["coverage_bps"] == str(10**30 * 10_000 // (200 * TOK))  # past 2^53: exact as a string
    assert h.get("operator", "/cover2").json() == out

    alerts = h.get("operator", "/alerts?state=all&kind=cover2_uncovered").json()
    assert [(a["member"], a["state"]) for a in alerts] == [(None, "resolved")]


def test_cover2_is_the_operators(settling_house):
    h = settling_house
    h.add("alpha", 1, collateral=TOK)
    for path, send in (("/cover2", h.get), ("/cover2/run", h.post)):
        r = send("alpha", path)
        assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json", r.text
        assert h.client.request("GET" if send == h.get else "POST", path).status_code == 401


def test_a_house_without_a_chain_has_no_cover2(sqlite_house):
    r = sqlite_house.get("operator", "/cover2")
    assert r.status_code == 503 and r.json()["code"], r.text
    assert sqlite_house.post("operator", "/cover2/run", None).status_code == 503


def test_every_alert_kind_can_be_answered():
    assert set(get_args(AlertKindName)) == {k.value for k in AlertKind}
