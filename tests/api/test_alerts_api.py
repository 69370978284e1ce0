"""Alerts over HTTP: members see their own (others' are 404), operators all; thresholds round-trip; bad input 422."""

from __future__ import annotations

from sqlalchemy import update

from clearing.adapters.db.models import AuditLog, Member


def _draw(house, name: str, amount: int) -> None:
    """The member drew ``amount`` on a zero line (and its headroom went negative)."""
    with house.ctx.uow() as uow:
        uow.session.execute(update(Member).where(Member.name == name).values(chain_balance=-amount))
        uow.commit()


def _evaluate(house) -> dict:
    r = house.post("operator", "/alerts/evaluate", None)
    assert r.status_code == 200, r.text
    return r.json()


def test_members_see_their_own_alerts_and_operators_see_all(house):
    _draw(house, "alpha", 5)
    _draw(house, "beta", 7)
    assert _evaluate(house) == {"opened": 4, "resolved": 0, "updated": 0}  # headroom and utilisation, each
    mine = house.get("alpha", "/members/me/alerts").json()
    assert {(a["member"], a["kind"]) for a in mine} == {("alpha", "headroom_low"), ("alpha", "credit_utilisation_high")}
    assert all(a["state"] == "open" and a["data"]["drawn" if a["kind"] != "headroom_low" else "headroom"] for a in mine)
    util = next(a for a in mine if a["kind"] == "credit_utilisation_high")
    assert util["data"]["drawn"] == "5" and util["severity"] == "critical"
    assert house.get("gamma", "/members/me/alerts").json() == []
    every = house.get("operator", "/alerts").json()
    assert {a["member"] for a in every} == {"alpha", "beta"}
    assert len(house.get("auditor", "/alerts?member=beta&kind=headroom_low").json()) == 1
    assert house.get("alpha", "/alerts").status_code == 403  # members read /members/me/alerts

    beta_alert = next(a for a in every if a["member"] == "beta")
    r = house.post("alpha", f"/alerts/{beta_alert['id']}/acknowledge", None)
    assert r.status_code == 404 and r.json()["field"] == "alert_id"  # someone else's: as if absent
    r = house.post("alpha", f"/alerts/{util['id']}/acknowledge", None)
    assert r.status_code == 200 and r.json()["state"] == "acknowledged"
    assert r.json()["acknowledged_by"] == "member:alpha"
    assert house.post("alpha", f"/alerts/{util['id']}/acknowledge", None).json() == r.json()  # idempotent
    assert house.post("auditor", f"/alerts/{util['id']}/acknowledge", None).status_code == 403

    r = house.post("operator", f"/alerts/{util['id']}/resolve", {"reason": "line raised by phone"})
    assert r.status_code == 200 and (r.json()["state"], r.json()["resolved_by"]) == ("resolved", "operator:bootstrap")
    assert house.post("operator", f"/alerts/{util['id']}/resolve", {"reason": "again"}).json() == r.json()
    assert house.post("alpha", f"/alerts/{util['id']}/resolve", {"reason": "x"}).status_code == 403
    assert house.post("alpha", f"/alerts/{util['id']}/acknowledge", None).status_code == 409
    assert [a["kind"] for a in house.get("alpha", "/members/me/alerts").json()] == ["headroom_low"]
    resolved = house.get("alpha", "/members/me/alerts?state=resolved").json()
    assert [a["id"] for a in resolved] == [util["id"]]

    _draw(house, "alpha", 0)
    assert _evaluate(house)["resolved"] == 1  # alpha's headroom alert cleared
    assert house.get("alpha", "/members/me/alerts").json() == []
    with house.ctx.uow(read_only=True) as uow:
        actions = [a.action for a in uow.session.query(AuditLog).filter(AuditLog.action.like("alert.%"))]
    assert actions == ["alert.evaluate", "alert.acknowledge", "alert.resolve", "alert.evaluate"]


def test_threshold_overrides_round_trip(house):
    r = house.get("operator", "/members/alpha/alert-thresholds")
    assert r.status_code == 200
    before = {t["kind"]: (t["value"], t["source"]) for t in r.json()["thresholds"]}
    assert before["obligations_carried"] == (5, "tier") and r.json()["tier"] == "A"
    body = {"obligations_carried": 0, "hold_open_too_long": 6, "reason": "new merchant"}
    r = house.client.put("/members/alpha/alert-thresholds", json=body, headers=house.headers("operator"))
    assert r.status_code == 200, r.text
    got = {t["kind"]: t for t in r.json()["thresholds"]}
    assert (got["obligations_carried"]["value"], got["obligations_carried"]["source"]) == (0, "override")
    assert got["obligations_carried"]["tier_value"] == 5 and got["obligations_carried"]["reason"] == "new merchant"
    assert got["headroom_low"]["source"] == "tier"
    assert house.get("operator", "/members/alpha/alert-thresholds").json() == r.json()
    assert house.get("alpha", "/members/me/alert-thresholds").json() == r.json()  # the member sees why
    assert house.get("beta", "/members/me/alert-thresholds").json()["thresholds"][2]["source"] == "tier"
    assert house.get("alpha", "/members/beta/alert-thresholds").status_code == 403
    body = {"obligations_carried": None, "reason": "back to the tier"}
    r = house.client.put("/members/alpha/alert-thresholds", json=body, headers=house.headers("operator"))
    got = {t["kind"]: (t["value"], t["source"]) for t in r.json()["thresholds"]}
    assert got["obligations_carried"] == (5, "tier") and got["hold_open_too_long"] == (6, "override")


def test_bad_thresholds_are_422_naming_the_field(house):
    def put(body, who="operator", name="alpha"):
        return house.client.put(f"/members/{name}/alert-thresholds", json=body, headers=house.headers(who))

    for thresholds, field in (
        ({"credit_utilisation_high": 10_001}, "credit_utilisation_high"),
        ({"headroom_low": -1}, "headroom_low"),
        ({"headroom_low": "2"}, "headroom_low"),
        ({"writer_stuck": 1}, "writer_stuck"),
    ):
        r = put({**thresholds, "reason": "x"})
        assert r.status_code == 422, r.text
        assert r.json()["field"] == field, r.text
    assert put({"reason": " "}).json()["field"] == "reason"
    assert put({"reason": "x"}, who="alpha").status_code == 403
    assert put({"reason": "x"}, name="nobody").status_code == 404
    assert house.get("operator", "/alerts?state=closed").status_code == 422
