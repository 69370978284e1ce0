"""Issue 9 over HTTP: a member reads its own credit and why; operators read every score, tier migrations and
overrides, pin and unpin; bad input is a 4xx problem naming the field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from clearing.adapters.db.models import AuditLog


def _later(days: float = 7) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


def _pin(house, name: str, body: dict):
    return house.post(
        "operator", f"/members/{name}/credit/override", {"reason": "review", "expires_at": _later(), **body}
    )


def test_a_member_reads_its_own_credit_and_why(house):
    r = house.get("alpha", "/members/me/credit")
    assert r.status_code == 200, r.text
    c = r.json()
    assert (c["member"], c["tier"], c["source"], c["provisional"], c["recorded"]) == (
        "alpha",
        "A",
        "override",
        True,
        True,
    )
    assert c["override"]["tier"] == "A" and "admission" in c["override"]["reason"]  # shown as an override
    assert {f["name"] for f in c["factors"]} >= {"base", "volume", "on-time", "age", "incidents", "defaults"}
    assert all(f["rule"] for f in c["factors"]) and sum(f["points"] for f in c["factors"]) == c["score"]
    assert c["improvements"] and all(i["points"] > 0 for i in c["improvements"])
    assert c["line"]["amount"] == "0" and c["line"]["cap"] == "0" and c["line"]["formula"]
    assert [h["trigger"] for h in c["history"]] == ["admission"]
    assert c["next_tier"] is None  # pinned at A already


def test_members_see_only_their_own_credit(house):
    for path in ("/members/beta/credit", "/credit/scores", "/credit/migrations", "/credit/overrides"):
        r = house.get("alpha", path)
        assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json", path
    assert house.get("auditor", "/members/alpha/credit").status_code == 403
    r = _pin(house, "beta", {"tier": "C"})
    assert (
        house.post("alpha", "/members/beta/credit/override", {"reason": "x", "expires_at": _later()}).status_code == 403
    )
    assert r.status_code == 201
    r = house.get("operator", "/members/nobody/credit")
    assert r.status_code == 404 and r.json()["field"] == "name"
    assert house.get("operator", "/members/me/credit").status_code == 403  # the member route: a member key


def test_operators_pin_and_unpin_and_every_change_is_audited(house):
    r = _pin(house, "beta", {"tier": "C", "credit_line": "0"})
    assert r.status_code == 201, r.text
    c = r.json()
    assert (c["tier"], c["score_tier"] in "ABC", c["override"]["reason"]) == ("C", True, "review")
    assert c["reasons"][0] == "tier C pinned by the operator: review"
    migrations = house.get("operator", "/credit/migrations").json()
    assert [(m["member"], m["from_tier"], m["to_tier"], m["trigger"]) for m in migrations] == [
        ("beta", "A", "C", "override")
    ]
    assert (
        house.get(
            "operator",
            "/credit/migrations",
        ).status_code
        == 200
    )
    scores = {s["member"]: s for s in house.get("operator", "/credit/scores").json()}
    assert set(scores) == {"alpha", "beta", "gamma"} and scores["beta"]["tier"] == "C" and scores["beta"]["override"]
    active = house.get("operator", "/credit/overrides?active=true").json()
    assert {o["member"] for o in active} == {"alpha", "beta", "gamma"}  # the admission pins and beta's new one
    r = house.client.delete(
        "/members/beta/credit/override", params={"reason": "cleared"}, headers=house.headers("operator")
    )
    assert r.status_code == 200 and r.json()["override"] is None and r.json()["tier"] == "B"  # provisional again
    r = house.client.delete(
        "/members/beta/credit/override", params={"reason": "again"}, headers=house.headers("operator")
    )
    assert r.status_code == 404
    r = house.client.delete("/members/beta/credit/override", headers=house.headers("operator"))
    assert r.status_code == 422 and r.json()["field"] == "reason"
    with house.ctx.uow(read_only=True) as uow:
        actions = list(uow.session.scalars(select(AuditLog.action).order_by(AuditLog.id)))
    assert actions[-2:] == ["credit.override", "credit.override_end"]
    assert house.get("operator", "/members/beta/credit").json()["history"][0]["trigger"] == "override"


def test_bad_overrides_are_problems_naming_the_field(house):
    for body, field, code in (
        ({"credit_line": "777"}, "credit_line", "credit-line-above-cap"),  # beta has no volume: its cap is 0
        # well-formed but refused by the policy: a code of their own, not a malformed request's
        ({}, "tier", "override-refused"),
        ({"tier": "A", "expires_at": "2020-01-01T00:00:00Z"}, "expires_at", "override-refused"),
        ({"tier": "A", "expires_at": _later(400)}, "expires_at", "override-refused"),
        ({"tier": "A", "reason": " "}, "reason", "override-refused"),
        # malformed
        ({"tier": "A", "expires_at": "2030-01-01T00:00:00"}, "expires_at", "validation-error"),  # no zone
        ({"tier": "D"}, "tier", "validation-error"),
        ({"tier": "A", "credit_line": "-1"}, "credit_line", "validation-error"),
        ({"tier": "A", "above_cap": "yes"}, "above_cap", "validation-error"),
    ):
        r = _pin(house, "beta", body)
        assert r.status_code == 422, (body, r.text)
        assert (r.json()["field"], r.json()["code"]) == (field, code), body
    r = _pin(house, "beta", {"credit_line": "777"})
    assert r.json()["values"] == {"requested": "777", "cap": "0", "average_monthly_volume": "0"}
    assert _pin(house, "nobody", {"tier": "A"}).status_code == 404
    r = _pin(house, "beta", {"credit_line": "777", "above_cap": True})  # said explicitly: allowed, and shown
    assert r.status_code == 201 and r.json()["line"]["amount"] == "777" and r.json()["override"]["above_cap"]
    assert ("set_credit_limit", 777) in {(t.kind, t.amount) for t in house.planned()}  # queued for the chain


def test_limits_pin_with_an_expiry_and_the_cap_holds(house):
    r = house.client.patch(
        "/members/gamma/limits",
        json={"reason": "quarterly", "tier": "B", "expires_at": _later(3)},
        headers=house.headers("operator"),
    )
    assert r.status_code == 200 and r.json()["tier"] == "B"
    override = house.get("operator", "/members/gamma/credit").json()["override"]
    assert override["tier"] == "B" and override["reason"] == "quarterly"
    assert override["expires_at"].startswith(_later(3)[:10])
    r = house.client.patch(
        "/members/gamma/limits", json={"reason": "x", "credit_line": "1"}, headers=house.headers("operator")
    )
    assert r.status_code == 422 and r.json()["field"] == "credit_line"


def test_the_tier_set_drives_the_risk_rules(house):
    big = str(150_000 * 10**6)  # over tier B's single-order limit (100,000), under tier A's (1,000,000)
    first = {"id": "a-0", "debtor": "alpha", "creditor": "beta", "amount": "5"}  # beta is a known counterparty then
    assert house.post("alpha", "/obligations", first).json()["obligation"]["status"] == "accepted"
    assert (
        house.post("alpha", "/obligations", {"id": "a-1", "debtor": "alpha", "creditor": "beta", "amount": big}).json()[
            "obligation"
        ]["status"]
        == "accepted"
    )
    assert _pin(house, "alpha", {"tier": "B"}).status_code == 201
    held = house.post("alpha", "/obligations", {"id": "a-2", "debtor": "alpha", "creditor": "beta", "amount": big})
    [hold] = held.json()["obligation"]["holds"]
    assert hold["rule"] == "single-order-limit" and hold["release_after"] is not None  # graded: released later
    assert _pin(house, "alpha", {"tier": "C"}).status_code == 201
    r = house.post("alpha", "/obligations", {"id": "a-3", "debtor": "alpha", "creditor": "beta", "amount": "5"})
    [hold] = r.json()["obligation"]["holds"]  # tier C's velocity: 100,000 an hour, and a reviewer decides
    assert (hold["rule"], hold["release_after"]) == ("velocity-amount", None)
    assert _pin(house, "gamma", {"tier": "C"}).status_code == 201
    r = house.post("gamma", "/obligations", {"id": "g-1", "debtor": "gamma", "creditor": "beta", "amount": "5"})
    assert r.json()["obligation"]["status"] == "escrow"  # tier C: prepaid per order


def test_rescore_on_request(house):
    r = house.post("operator", "/credit/rescore", {})
    assert r.status_code == 200 and r.json()["members"] == 3
    r = house.post("operator", "/credit/rescore", {"member": "alpha"})
    assert r.status_code == 200 and r.json()["members"] == 1
    assert house.post("operator", "/credit/rescore", {"member": "nobody"}).status_code == 404
    assert house.client.post("/credit/rescore", headers=house.headers("operator")).status_code == 200  # no body
    assert house.post("alpha", "/credit/rescore", {}).status_code == 403
