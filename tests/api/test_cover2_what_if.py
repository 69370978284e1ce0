"""GET /cover2/what-if on the real app, ledger and in-process chain: the Cover 2 pair defaults, the others run at
demand × N on their forecasts; operators only, 422 naming a bad parameter, 503 without a chain."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

TOK = 10**6


def _exposed_house(h):
    h.add("alpha", 1, collateral=100 * TOK)
    h.add("beta", 2, collateral=10_000 * TOK)
    h.add("gamma", 3, collateral=5_000 * TOK)
    pin = {
        "reason": "what-if api test",
        "expires_at": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
        "tier": "A",
        "credit_line": str(500 * TOK),
        "above_cap": True,
    }
    assert h.post("operator", "/members/alpha/credit/override", pin).status_code == 201
    h.sync()
    ob = {"id": "wi-1", "debtor": "alpha", "creditor": "beta", "amount": str(300 * TOK)}
    assert h.post("alpha", "/obligations", ob).json()["obligation"]["status"] == "accepted"
    lender = h.contracts.chain.accounts[9]
    h.contracts.token.mint(lender.address, 1_000 * TOK)
    h.contracts.token.approve(h.contracts.house.address, 1_000 * TOK, sender=lender)
    h.contracts.house.pool_deposit(1_000 * TOK, sender=lender)


def test_the_cover2_pair_defaults_and_the_rest_run_on_their_forecasts(sqlite_chain_house):
    h = sqlite_chain_house
    _exposed_house(h)
    latest = h.post("operator", "/cover2/run").json()
    r = h.get("operator", "/cover2/what-if?days=3&demand=2")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["cover2_latest_id"] == latest["id"]
    assert body["cover2_now"] == {
        "loss": latest["loss"],
        "resources": latest["resources"],
        "covered": latest["covered"],
        "members": [m["member"] for m in latest["members"]],
    }
    # alpha alone is exposed: 300 in flight − 100 collateral; the pool loses it.
    assert body["defaulted"] == ["alpha"] and body["loss"] == str(200 * TOK)
    assert body["pool_after"] == str(800 * TOK)
    assert (body["days"], body["demand"], len(body["pool_need_by_day"])) == (3, 2.0, 3)
    assert sorted(m["member"] for m in body["members"]) == ["beta", "gamma"]
    for m in body["members"]:
        assert 0.0 <= m["shortfall_probability"] <= 1.0
        assert int(m["topup_95"]) >= 0 and int(m["drawn_end_p95"]) >= int(m["drawn_end_p50"]) >= 0
    # The survivors have no credit line: they draw nothing from the pool, which covers that.
    assert body["pool_need_95"] == "0" and body["pool_covers"] is True
    assert h.get("operator", "/cover2/what-if?days=3&demand=2").json() == body  # same ledger, same answer


def test_what_if_is_the_operators_and_names_bad_parameters(sqlite_chain_house):
    h = sqlite_chain_house
    h.add("alpha", 1, collateral=TOK)
    assert h.get("alpha", "/cover2/what-if").status_code == 403
    assert h.client.get("/cover2/what-if").status_code == 401
    for query, field in (("days=0", "days"), ("days=32", "days"), ("demand=0", "demand"), ("demand=11", "demand")):
        r = h.get("operator", f"/cover2/what-if?{query}")
        assert r.status_code == 422 and field in r.text, (query, r.text)


def test_a_house_without_a_chain_has_no_what_if(sqlite_house):
    r = sqlite_house.get("operator", "/cover2/what-if")
    assert r.status_code == 503 and r.json()["code"], r.text
