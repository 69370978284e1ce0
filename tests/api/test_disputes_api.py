"""Disputes and complaints over HTTP: parties file and read, the operator resolves; cycles settle on chain."""

from __future__ import annotations

from sqlalchemy import select

from clearing.adapters.db.models import AuditLog
from clearing.domain.merkle import obligation_key


def _owe(h, oid: str, debtor: str, creditor: str, amount: int) -> dict:
    r = h.post(debtor, "/obligations", {"id": oid, "debtor": debtor, "creditor": creditor, "amount": str(amount)})
    assert r.status_code == 201, r.text
    return r.json()["obligation"]


def _settle(h) -> dict:
    cycle = h.post("operator", "/cycles", None).json()["id"]
    r = h.post("operator", f"/cycles/{cycle}/settle", None)
    assert r.status_code == 200, r.text
    return r.json()


def _key(h, submitter: str, oid: str) -> str:
    return "0x" + obligation_key(h.accounts[submitter].address, oid).hex()


def _obligation(h, who: str, oid: str) -> dict:
    r = h.get(who, f"/obligations/{oid}")
    assert r.status_code == 200, r.text
    return r.json()


def test_pre_close_dispute_over_http_holds_then_returns_to_netting(chain_house):
    h = chain_house
    _owe(h, "o1", "alpha", "beta", 250_000)
    r = h.post("beta", "/obligations/o1/disputes", {"reason": "the cards were never delivered"})
    assert r.status_code == 201, r.text
    d = r.json()
    assert (d["phase"], d["state"], d["filed_by"], d["against"], d["amount"]) == (
        "pre-close",
        "open",
        "beta",
        "alpha",
        "250000",
    )
    assert (d["obligation_id"], d["submitter"], d["obligation_key"]) == ("o1", "alpha", _key(h, "alpha", "o1"))
    o = _obligation(h, "alpha", "o1")  # the other party sees it held, naming the dispute
    assert o["status"] == "disputed" and [(x["rule"], x["values"]) for x in o["holds"]] == [
        ("dispute", {"dispute": str(d["id"])})
    ]
    assert h.get("alpha", f"/disputes/{d['id']}").json()["reason"] == "the cards were never delivered"
    assert _settle(h)["obligations"] == 0  # kept out of the cut-off
    hold = h.post("operator", f"/holds/{d['hold_id']}/review", {"decision": "release", "reason": "x"})
    assert hold.status_code == 409 and hold.json()["values"]["dispute"] == str(d["id"])

    r = h.post("operator", f"/disputes/{d['id']}/resolve", {"decision": "reject", "reason": "delivery logs match"})
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["obligation_status"]) == ("rejected", "accepted")
    assert _settle(h)["state"] == "SETTLED" and _obligation(h, "beta", "o1")["status"] == "settled"
    mine = h.get("alpha", "/disputes").json()
    assert [(x["id"], x["state"], x["resolution"]) for x in mine] == [(d["id"], "rejected", "delivery logs match")]


def test_post_settlement_dispute_upheld_settles_its_reversal_in_the_next_cycle(chain_house):
    h = chain_house
    _owe(h, "o1", "alpha", "beta", 250_000)
    _settle(h)
    alpha = h.ctx.contracts.house.balance_of(h.accounts["alpha"].address)
    d = h.post("alpha", "/obligations/o1/disputes", {"reason": "charged twice"}).json()
    assert d["phase"] == "post-settlement" and d["hold_id"] is None
    assert h.post("alpha", "/obligations/o1/disputes", {"reason": "again"}).json()["code"] == "dispute-open"
    body = {"decision": "uphold", "reason": "double charge confirmed"}
    first = h.post("operator", f"/disputes/{d['id']}/resolve", body)
    again = h.post("operator", f"/disputes/{d['id']}/resolve", body)
    assert first.status_code == again.status_code == 200 and first.json() == again.json()
    rid = first.json()["reversal_obligation_id"]
    assert first.json()["reversal_obligation_key"] == _key(h, "alpha", rid)  # alpha filed: alpha submitted it
    rev = _obligation(h, "beta", rid)
    assert (rev["debtor"], rev["creditor"], rev["amount"], rev["status"]) == ("beta", "alpha", "250000", "accepted")
    other = h.post("operator", f"/disputes/{d['id']}/resolve", {"decision": "reject", "reason": "oops"})
    assert other.status_code == 409
    cycle = _settle(h)
    assert cycle["state"] == "SETTLED" and cycle["obligations"] == 1
    assert _obligation(h, "alpha", rid)["status"] == "settled"
    assert h.ctx.contracts.house.balance_of(h.accounts["alpha"].address) == alpha + 250_000
    assert h.get("auditor", "/audit/verify").json()["ok"] is True


def test_who_may_file_read_and_resolve(house):
    _owe(house, "o1", "alpha", "beta", 10)
    assert house.post("gamma", "/obligations/o1/disputes", {"reason": "x"}).status_code == 404
    assert house.post("operator", "/obligations/o1/disputes", {"reason": "x"}).status_code == 403
    blank = house.post("alpha", "/obligations/o1/disputes", {"reason": "  "})
    assert blank.status_code == 422 and blank.json()["field"] == "reason"
    extra = house.post("alpha", "/obligations/o1/disputes", {"reason": "x", "amount": "1"})
    assert extra.status_code == 422 and extra.json()["field"] == "amount"
    d = house.post("alpha", "/obligations/o1/disputes", {"reason": "wrong amount"}).json()
    twice = house.post("beta", "/obligations/o1/disputes", {"reason": "me too"})
    assert twice.status_code == 409 and twice.json()["code"] == "dispute-open"

    assert house.get("gamma", f"/disputes/{d['id']}").status_code == 404
    assert house.get("gamma", "/disputes").json() == []
    assert [x["id"] for x in house.get("beta", "/disputes?state=open").json()] == [d["id"]]
    assert [x["id"] for x in house.get("operator", "/disputes?member=alpha").json()] == [d["id"]]
    assert house.get("operator", "/disputes?state=upheld").json() == []
    seen = house.get("auditor", f"/disputes/{d['id']}")
    assert seen.status_code == 200 and (seen.json()["submitter"], seen.json()["obligation_key"]) == (
        "alpha",
        _key(house, "alpha", "o1"),
    )

    url = f"/disputes/{d['id']}/resolve"
    assert house.post("alpha", url, {"decision": "uphold", "reason": "x"}).status_code == 403
    bad = house.post("operator", url, {"decision": "maybe", "reason": "x"})
    assert bad.status_code == 422 and bad.json()["field"] == "decision"
    assert house.post("operator", url, {"decision": "uphold"}).json()["field"] == "reason"
    assert house.post("operator", "/disputes/999/resolve", {"decision": "uphold", "reason": "x"}).status_code == 404
    done = house.post("operator", url, {"decision": "uphold", "reason": "beta agrees"}).json()
    assert (done["state"], done["obligation_status"], done["resolver"]) == ("upheld", "cancelled", "operator:bootstrap")


def test_complaints_over_http(house):
    _owe(house, "o1", "alpha", "beta", 10)
    r = house.post("beta", "/complaints", {"against": "alpha", "reason": "pays late", "obligation_id": "o1"})
    assert r.status_code == 201, r.text
    c = r.json()
    assert (c["filed_by"], c["against"], c["state"], c["obligation_id"]) == ("beta", "alpha", "open", "o1")
    assert (c["obligation_submitter"], c["obligation_key"]) == ("alpha", _key(house, "alpha", "o1"))
    stranger = house.post("gamma", "/complaints", {"against": "alpha", "reason": "x"})
    assert stranger.status_code == 403 and stranger.json()["code"] == "not-a-counterparty"
    unknown = house.post("beta", "/complaints", {"against": "nobody", "reason": "x"})
    assert unknown.status_code == 422 and unknown.json()["field"] == "against"
    assert house.post("operator", "/complaints", {"against": "alpha", "reason": "x"}).status_code == 403

    assert [x["id"] for x in house.get("alpha", "/complaints").json()] == [c["id"]]
    assert house.get("gamma", "/complaints").json() == []
    assert house.get("gamma", f"/complaints/{c['id']}").status_code == 404
    url = f"/complaints/{c['id']}/resolve"
    assert house.post("beta", url, {"decision": "validate", "reason": "x"}).status_code == 403
    done = house.post("operator", url, {"decision": "validate", "reason": "three late payments"})
    assert done.status_code == 200 and done.json()["state"] == "validated"
    assert house.post("operator", url, {"decision": "dismiss", "reason": "x"}).status_code == 409
    assert house.get("alpha", f"/complaints/{c['id']}").json()["resolution"] == "three late payments"
    assert [x["id"] for x in house.get("operator", "/complaints?state=validated&member=beta").json()] == [c["id"]]
    with house.ctx.uow(read_only=True) as uow:
        actions = [a.action for a in uow.session.scalars(select(AuditLog).order_by(AuditLog.id))]
    assert actions[-2:] == ["complaint.file", "complaint.validate"]


def test_an_id_two_members_used_names_the_disputing_members_own_else_takes_submitter(house):
    _owe(house, "X", "alpha", "gamma", 10)
    _owe(house, "X", "beta", "gamma", 20)
    ambiguous = house.post("gamma", "/obligations/X/disputes", {"reason": "x"})
    assert ambiguous.status_code == 422 and ambiguous.json()["field"] == "submitter"
    d = house.post("gamma", "/obligations/X/disputes?submitter=beta", {"reason": "short delivery"})
    assert d.status_code == 201, d.text
    assert (d.json()["submitter"], d.json()["amount"], d.json()["against"]) == ("beta", "20", "beta")
    mine = house.post("alpha", "/obligations/X/disputes", {"reason": "wrong amount"})  # alpha's own "X"
    assert mine.status_code == 201 and mine.json()["obligation_key"] == _key(house, "alpha", "X")
    assert house.post("alpha", "/obligations/X/disputes?submitter=beta", {"reason": "x"}).status_code == 404
    assert [x["obligation_key"] for x in house.get("operator", "/disputes").json()] == [
        _key(house, "alpha", "X"),
        _key(house, "beta", "X"),
    ]
    assert house.get("beta", "/obligations/X").json()["status"] == "disputed"
