"""Forecasts over HTTP: a member reads its own forecast and no one else's; operators and auditors read every
member's and the pool's; operators run forecasts on demand; bad input is a problem naming the field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.conftest import give_line, record_trade


def _trade(house, days: int = 35) -> None:
    """alpha pays beta about 1,000 tokens a day for ``days`` days up to yesterday (it holds 10^24 units)."""
    today = datetime.now(UTC).replace(hour=6, minute=0, second=0, microsecond=0)
    record_trade(
        house.ctx,
        [("alpha", "beta", (1_000 + 17 * (k % 7)) * 10**6, today - timedelta(days=days - k)) for k in range(days)],
    )


def test_a_member_reads_its_own_forecast_once_one_has_run(house):
    _trade(house)
    r = house.get("alpha", "/members/me/forecast")
    assert r.status_code == 404 and r.json()["code"] == "no-forecast"
    run = house.post("operator", "/forecasts/run", None)
    assert run.status_code == 200, run.text
    out = run.json()
    assert (out["members"], out["stored"], out["horizon"]) == (3, 3, 14)
    assert set(out["shortfalls"]) == {"alpha", "beta", "gamma"} and out["pool"]["stored"] is True
    assert isinstance(out["pool"]["needed_95"], str)
    f = house.get("alpha", "/members/me/forecast").json()
    assert (f["member"], f["horizon"], f["trigger"], len(f["days"])) == ("alpha", 14, "manual", 14)
    assert f["start"] == datetime.now(UTC).date().isoformat() and f["model_version"] and len(f["data_version"]) == 16
    day = f["days"][0]
    for k in ("inflow_p50", "outflow_p50", "net_p05", "net_p50", "net_p95", "naive_net", "balance_p05", "balance_p50"):
        assert isinstance(day[k], str) and int(day[k]) is not None, k
    assert int(day["net_p05"]) <= int(day["net_p50"]) <= int(day["net_p95"])
    assert int(day["outflow_p50"]) > 0 and 0 <= day["shortfall_probability"] <= 1
    assert f["balance"] == str(10**24) and f["shortfall_date"] is None and f["topup"] is None  # plenty of collateral
    again = house.post("operator", "/forecasts/run", {}).json()
    assert again["stored"] == 0 and again["changed"] == []


def test_members_see_only_their_own_and_operators_and_auditors_see_all(house):
    house.add("delta", collateral=10**9, credit=10**9)
    give_line(house.ctx, "delta", 10**9)  # a line: the pool's forecast covers it
    _trade(house)
    assert house.post("alpha", "/forecasts/run", None).status_code == 403
    assert house.post("auditor", "/forecasts/run", None).status_code == 403
    house.post("operator", "/forecasts/run", None)
    for path in ("/members/beta/forecast", "/forecasts", "/forecasts/pool"):
        r = house.get("alpha", path)
        assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json", path
    for who in ("operator", "auditor"):
        assert house.get(who, "/members/beta/forecast").json()["member"] == "beta"
        assert [s["member"] for s in house.get(who, "/forecasts").json()] == ["alpha", "beta", "delta", "gamma"]
        assert house.get(who, "/forecasts?short_only=true").json() == []
        pool = house.get(who, "/forecasts/pool").json()
        assert len(pool["days"]) == 14 and int(pool["idle"]) == max(int(pool["liquidity"]) - int(pool["needed_95"]), 0)
    assert house.get("operator", "/members/nobody/forecast").status_code == 404
    assert house.get("alpha", "/members/me/forecast").json()["member"] == "alpha"


def test_runs_over_some_members_and_bad_input(house):
    _trade(house)
    r = house.post("operator", "/forecasts/run", {"members": ["beta"], "horizon": 7})
    assert r.status_code == 200, r.text
    assert (r.json()["members"], r.json()["pool"], list(r.json()["shortfalls"])) == (1, None, ["beta"])
    assert len(house.get("beta", "/members/me/forecast").json()["days"]) == 7
    assert house.get("alpha", "/members/me/forecast").status_code == 404
    assert house.get("operator", "/forecasts/pool").json()["code"] == "no-forecast"
    cases = [
        ({"horizon": 6}, "horizon"),
        ({"horizon": 15}, "horizon"),
        ({"horizon": "14"}, "horizon"),
        ({"members": []}, "members"),
        ({"members": ["Not A Slug"]}, "members"),
        ({"every": True}, "every"),
    ]
    for body, field in cases:
        r = house.post("operator", "/forecasts/run", body)
        assert r.status_code == 422 and r.json()["field"].startswith(field), (body, r.text)
    r = house.post("operator", "/forecasts/run", {"members": ["beta", "nobody"]})
    assert r.status_code == 404 and r.json()["field"] == "members"
