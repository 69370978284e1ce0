"""POST/GET /obligations over the real app and ledger (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from clearing.adapters.db.models import Obligation
from clearing.adapters.db.reservations import reservation_mismatches

PROBLEM = "application/problem+json"


def ob(id: str, debtor: str = "alpha", creditor: str = "beta", amount: object = "120", **kw: object) -> dict:
    return {"id": id, "debtor": debtor, "creditor": creditor, "amount": amount, **kw}


def count_rows(house) -> int:
    with house.ctx.uow(read_only=True) as uow:
        return uow.session.scalar(select(func.count()).select_from(Obligation))


def test_debtor_submits_and_reads_back(house):
    r = house.post("alpha", "/obligations", ob("o-2", amount=1200))  # JSON integer accepted
    assert r.status_code == 201 and r.json()["obligation"]["status"] == "accepted"
    got = house.get("beta", "/obligations/o-2").json()  # the creditor sees it too
    assert got["amount"] == "1200" and got["status"] == "accepted"
    r = house.post("alpha", "/obligations", ob("o-1", amount=str(2**200), reference="order 8812"))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["replayed"] is False
    o = body["obligation"]
    assert (o["amount"], o["debtor"], o["creditor"], o["route"]) == (str(2**200), "alpha", "beta", "net")
    # Far over the tier's single-order limit: held, each hold naming its rule and numbers.
    assert o["status"] == "held"
    rules = {h["rule"]: h for h in o["holds"]}
    assert rules["single-order-limit"]["values"]["amount"] == str(2**200)
    assert house.get("alpha", "/obligations/o-1").json()["amount"] == str(2**200)


def test_same_id_same_body_is_a_replay(house):
    first = house.post("alpha", "/obligations", ob("dup-1"))
    again = house.post("alpha", "/obligations", ob("dup-1"))
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["replayed"] is True
    assert again.json()["obligation"] == first.json()["obligation"]
    assert count_rows(house) == 1


def test_same_id_other_body_is_409_naming_the_id(house):
    house.post("alpha", "/obligations", ob("dup-2"))
    r = house.post("alpha", "/obligations", ob("dup-2", amount="121"))
    assert r.status_code == 409 and r.headers["content-type"].startswith(PROBLEM)
    p = r.json()
    assert p["code"] == "obligation-conflict" and p["field"] == "id" and p["values"]["id"] == "dup-2"
    assert "dup-2" in p["detail"]


@pytest.mark.parametrize(
    "amount",
    [1.5, 100.5, "1e3", "1.5", -5, "-5", 0, "0", str(2**256), 2**256, 2**53, "", " 12", "abc", True, None, [1]],
)
def test_bad_amounts_are_422_naming_the_field(house, amount):
    r = house.post("alpha", "/obligations", ob("bad-amount", amount=amount))
    assert r.status_code == 422, (amount, r.text)
    assert r.headers["content-type"].startswith(PROBLEM)
    assert r.json()["field"] == "amount"
    assert count_rows(house) == 0


def test_largest_uint256_is_accepted(house):
    r = house.post("alpha", "/obligations", ob("max", amount=str(2**256 - 1)))
    assert r.status_code == 201
    assert r.json()["obligation"]["amount"] == str(2**256 - 1)


@pytest.mark.parametrize(
    "body,field",
    [
        ({"debtor": "alpha", "creditor": "beta", "amount": "1"}, "id"),
        (ob("x", creditor="nobody"), "creditor"),
        (ob("x", debtor="beta", creditor="beta"), "creditor"),
        (ob("x", extra="?"), "extra"),
        (ob("has space"), "id"),
        (ob("x", signature="0x12"), "signature"),
    ],
)
def test_malformed_obligations_are_422(house, body, field):
    r = house.post("alpha", "/obligations", body)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field


def test_malformed_json_is_422_not_500(house):
    r = house.client.post(
        "/obligations", content=b"{not json", headers={**house.headers("alpha"), "Content-Type": "application/json"}
    )
    assert r.status_code == 422 and r.headers["content-type"].startswith(PROBLEM)


def test_auth_is_required_and_isolated(house):
    assert house.client.post("/obligations", json=ob("a-1")).status_code == 401
    r = house.client.post("/obligations", json=ob("a-1"), headers={"Authorization": "Bearer chm_nope"})
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"
    assert house.post("operator", "/obligations", ob("a-1")).status_code == 403
    assert house.post("alpha", "/obligations", ob("a-1")).status_code == 201
    # gamma is no party: it cannot read it, and cannot tell it exists.
    r = house.get("gamma", "/obligations/a-1")
    assert r.status_code == 404
    assert r.json() == {**r.json(), "code": "not-found"}
    assert (
        house.get("gamma", "/obligations/never-existed").json()["detail"].replace("never-existed", "a-1")
        == r.json()["detail"]
    )
    # a member cannot submit for two others
    r = house.post("gamma", "/obligations", ob("a-2", debtor="alpha", creditor="beta"))
    assert r.status_code == 403 and r.json()["code"] == "not-a-party"


def test_creditor_needs_the_debtors_signature(house):
    r = house.post("beta", "/obligations", ob("c-1"))
    assert r.status_code == 422 and r.json()["field"] == "signature"
    wrong = house.sign("gamma", id="c-1", creditor="beta", amount=120)  # signed by someone else
    r = house.post("beta", "/obligations", ob("c-1", signature=wrong))
    assert r.status_code == 422 and r.json()["code"] == "invalid-signature"
    other_amount = house.sign("alpha", id="c-1", creditor="beta", amount=121)
    assert house.post("beta", "/obligations", ob("c-1", signature=other_amount)).status_code == 422
    good = house.sign("alpha", id="c-1", creditor="beta", amount=120)
    r = house.post("beta", "/obligations", ob("c-1", signature=good))
    assert r.status_code == 201, r.text
    assert r.json()["obligation"]["signed"] is True
    assert count_rows(house) == 1


def test_addresses_work_as_member_references(house):
    a, b = house.accounts["alpha"].address, house.accounts["beta"].address
    r = house.post("alpha", "/obligations", ob("addr-1", debtor=a.lower(), creditor=b))
    assert r.status_code == 201 and r.json()["obligation"]["debtor"] == "alpha"
    # the same obligation named by slug is the same body: a replay
    assert house.post("alpha", "/obligations", ob("addr-1")).status_code == 200


def test_beyond_headroom_is_queued_with_shortfall_and_top_up(house):
    house.add("small", collateral=1000)
    r = house.post("small", "/obligations", ob("h-1", debtor="small", amount="800"))
    assert r.json()["obligation"]["status"] == "accepted"
    r = house.post("small", "/obligations", ob("h-2", debtor="small", amount="500"))
    o = r.json()["obligation"]
    assert r.status_code == 201 and o["status"] == "queued_beyond_headroom" and o["shortfall"] == "300"
    me = house.get("small", "/members/me").json()
    assert me["headroom"] == "200" and me["queued_beyond_headroom"] == 1 and me["queued_value"] == "500"
    assert me["topup_needed"] == "300"
    assert me["member"]["liquidity"]["reserved_debit"] == "800"
    # incoming credit raises headroom
    house.post("alpha", "/obligations", ob("h-3", debtor="alpha", creditor="small", amount="300"))
    assert house.get("small", "/members/me").json()["headroom"] == "500"
    with house.ctx.uow(read_only=True) as uow:
        assert reservation_mismatches(uow.session) == {}


def test_tier_c_routes_to_escrow(house):
    house.add("newbie", tier="C", collateral=10_000)
    r = house.post("newbie", "/obligations", ob("e-1", debtor="newbie", amount="100"))
    assert r.json()["obligation"]["route"] == "escrow"
    assert r.json()["obligation"]["status"] in ("escrow", "held")


def test_suspended_debtor_is_held_and_operator_review_releases(house):
    r = house.post("operator", "/members/alpha/suspend", {"reason": "chargeback investigation"})
    assert r.status_code == 200 and r.json()["status"] == "suspended"
    r = house.post("alpha", "/obligations", ob("s-1"))
    o = r.json()["obligation"]
    assert o["status"] == "held" and o["holds"] and all(h["rule"] for h in o["holds"])
    holds = house.get("operator", "/holds").json()
    assert {h["obligation_id"] for h in holds} == {"s-1"}
    for h in holds:
        r = house.post("operator", f"/holds/{h['id']}/review", {"decision": "release", "reason": "confirmed by phone"})
        assert r.status_code == 200, r.text
    assert r.json()["obligation_status"] == "accepted"
    assert house.get("alpha", "/obligations/s-1").json()["status"] == "accepted"
    again = house.post("operator", f"/holds/{holds[0]['id']}/review", {"decision": "reject", "reason": "late"})
    assert again.status_code == 409
    assert (
        house.post("operator", f"/holds/{holds[0]['id']}/review", {"decision": "maybe", "reason": "x"}).status_code
        == 422
    )


def test_rejecting_a_hold_rejects_the_obligation(house):
    house.post("operator", "/members/alpha/suspend", {"reason": "x"})
    house.post("alpha", "/obligations", ob("s-2"))
    [h, *_] = house.get("operator", "/holds").json()
    r = house.post("operator", f"/holds/{h['id']}/review", {"decision": "reject", "reason": "fraud"})
    assert r.json()["obligation_status"] == "rejected"
    assert house.get("alpha", "/obligations/s-2").json()["status"] == "rejected"
    with house.ctx.uow(read_only=True) as uow:
        assert reservation_mismatches(uow.session) == {}


def test_new_counterparty_rule_sees_the_ledger(house):
    house.add("fresh", tier="C", collateral=10**30)
    threshold = house.ctx.risk_config.new_counterparty_threshold["C"]
    big = str(threshold + 1)
    first = house.post("fresh", "/obligations", ob("nc-1", debtor="fresh", amount=big)).json()["obligation"]
    assert "new-counterparty" in {h["rule"] for h in first["holds"]}
    # a held obligation does not make the pair known
    again = house.post("fresh", "/obligations", ob("nc-2", debtor="fresh", amount=big)).json()["obligation"]
    assert "new-counterparty" in {h["rule"] for h in again["holds"]}
    small = house.post("fresh", "/obligations", ob("nc-3", debtor="fresh", amount="5")).json()["obligation"]
    assert small["holds"] == []
    # now the pair is known (also to a fresh process cache)
    house.ctx.caches.known_pairs.clear()
    later = house.post("fresh", "/obligations", ob("nc-4", debtor="fresh", amount=big)).json()["obligation"]
    assert "new-counterparty" not in {h["rule"] for h in later["holds"]}


def test_on_behalf_of_is_part_of_the_signed_obligation(house):
    """Issue 8 item 11: the debtor's signature covers ``on_behalf_of``; one over the old type is refused."""
    from eth_account import Account
    from eth_account.messages import encode_typed_data

    from tests.api.conftest import DOMAIN

    alpha, beta = house.accounts["alpha"], house.accounts["beta"]
    # The type before item 11 (no onBehalfOf), signed with eth-account as a wallet would.
    old_types = {
        "Obligation": [
            {"name": "id", "type": "string"},
            {"name": "debtor", "type": "address"},
            {"name": "creditor", "type": "address"},
            {"name": "amount", "type": "uint256"},
            {"name": "reference", "type": "string"},
        ]
    }
    msg = {"id": "m-1", "debtor": alpha.address, "creditor": beta.address, "amount": 120, "reference": ""}
    typed = encode_typed_data(domain_data=DOMAIN.typed_data(), message_types=old_types, message_data=msg)
    old = "0x" + Account.sign_message(typed, alpha.key).signature.hex().removeprefix("0x")
    for on_behalf_of in ("merchant-4411", None):
        r = house.post("beta", "/obligations", ob("m-1", on_behalf_of=on_behalf_of, signature=old))
        assert r.status_code == 422 and r.json()["code"] == "invalid-signature", r.text
    # Signed over another merchant: refused; over this merchant: recorded.
    other = house.sign("alpha", id="m-1", creditor="beta", amount=120, on_behalf_of="merchant-9999")
    r = house.post("beta", "/obligations", ob("m-1", on_behalf_of="merchant-4411", signature=other))
    assert r.status_code == 422 and r.json()["code"] == "invalid-signature"
    good = house.sign("alpha", id="m-1", creditor="beta", amount=120, on_behalf_of="merchant-4411")
    r = house.post("beta", "/obligations", ob("m-1", on_behalf_of="merchant-4411", signature=good))
    assert r.status_code == 201, r.text
    assert r.json()["obligation"]["on_behalf_of"] == "merchant-4411"
    assert count_rows(house) == 1
