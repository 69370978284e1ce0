"""Item 16: tier-C order escrow over HTTP on a real chain: the order id, the debtor's funding transactions,
and release, refund, dispute, ruling and claim by whoever the contract allows."""

from __future__ import annotations

from eth_abi import encode
from eth_utils import keccak
from sqlalchemy import select

from clearing.adapters.db.models import AuditLog

SHOP, BUYER, OTHER = "cardhub", "voucherly", "gamma"


def _order_id(h, submitter: str, oid: str) -> bytes:
    """keccak256(abi.encode(address submitter, string id)), computed here with eth_abi, not the house's code."""
    return keccak(encode(["address", "string"], [h.accounts[submitter].address, oid]))


def _house(h) -> None:
    h.add(SHOP, 1)
    h.add(BUYER, 2, tier="C")
    h.add(OTHER, 3)
    h.contracts.token.mint(h.accounts[BUYER].address, 10_000_000)  # the buyer's own tokens


def _order(h, oid: str, amount: int) -> dict:
    r = h.post(BUYER, "/obligations", {"id": oid, "debtor": BUYER, "creditor": SHOP, "amount": str(amount)})
    assert r.status_code == 201 and r.json()["obligation"]["status"] == "escrow", r.text
    return h.get(BUYER, f"/obligations/{oid}/escrow").json()


def _fund(h, order: dict) -> None:
    for tx in order["funding"]:
        h.send(tx, h.accounts[BUYER])


def _send(h, r, who: str):
    assert r.status_code == 200, r.text
    tx = r.json()["transaction"]
    assert tx["from"] == h.accounts[who].address and tx["to"] == h.contracts.escrow.address
    return h.send(tx, h.accounts[who])


def test_debtor_funds_then_parties_release_refund_dispute_and_the_operator_rules(settling_house):
    h = settling_house
    _house(h)
    c = h.contracts
    order = _order(h, "e-1", 250_000)
    assert order["order_id"] == "0x" + _order_id(h, BUYER, "e-1").hex() and order["submitter"] == BUYER
    assert (order["state"], order["remaining"]) == ("unfunded", "0")
    assert [t["to"] for t in order["funding"]] == [c.token.address, c.escrow.address]
    assert h.get(OTHER, "/obligations/e-1/escrow").status_code == 404
    early = h.post(SHOP, "/obligations/e-1/escrow/refund")
    assert early.status_code == 409 and early.json()["values"]["state"] == "unfunded"

    _fund(h, order)
    order = h.get(SHOP, "/obligations/e-1/escrow").json()
    assert (order["state"], order["remaining"], order["funding"]) == ("funded", "250000", [])
    assert c.escrow.order(_order_id(h, BUYER, "e-1")).creditor == h.accounts[SHOP].address
    shop_tokens = c.token.balance_of(h.accounts[SHOP].address)

    _send(h, h.post(BUYER, "/obligations/e-1/escrow/release", {"amount": "100000"}), BUYER)
    _send(h, h.post(SHOP, "/obligations/e-1/escrow/refund", {"amount": "50000"}), SHOP)
    assert c.token.balance_of(h.accounts[SHOP].address) == shop_tokens + 100_000
    assert h.post(SHOP, "/obligations/e-1/escrow/release").status_code == 403  # only debtor or operator
    assert h.post("operator", "/obligations/e-1/escrow/dispute").status_code == 403  # only the debtor
    too_much = h.post(BUYER, "/obligations/e-1/escrow/release", {"amount": "100001"})
    assert too_much.status_code == 422 and too_much.json()["field"] == "amount"

    _send(h, h.post(BUYER, "/obligations/e-1/escrow/dispute"), BUYER)
    order = h.get("operator", "/obligations/e-1/escrow").json()
    assert (order["state"], order["remaining"], order["released"], order["refunded"]) == (
        "disputed",
        "100000",
        "100000",
        "50000",
    )
    assert h.post(SHOP, "/obligations/e-1/escrow/claim").status_code == 409
    wrong = h.post("operator", "/obligations/e-1/escrow/resolve", {"to_creditor": "60000", "to_debtor": "1"})
    assert wrong.status_code == 422 and wrong.json()["field"] == "to_creditor"
    ruling = {"to_creditor": "60000", "to_debtor": "40000"}
    r = h.post("operator", "/obligations/e-1/escrow/resolve", ruling)
    assert r.status_code == 200, r.text
    assert r.json()["action"]["state"] == "mined" and r.json()["transaction"] is None
    assert (r.json()["order"]["state"], r.json()["order"]["status"]) == ("closed", "settled")
    assert c.token.balance_of(h.accounts[SHOP].address) == shop_tokens + 160_000
    assert h.post("operator", "/obligations/e-1/escrow/resolve", ruling).json()["action"] == r.json()["action"]
    with h.ctx.uow(read_only=True) as uow:
        assert "order.resolve" in [a.action for a in uow.session.scalars(select(AuditLog))]


def test_claim_after_the_window_and_operator_refund(settling_house):
    h = settling_house
    _house(h)
    c = h.contracts
    _fund(h, _order(h, "e-2", 70_000))
    _fund(h, _order(h, "e-3", 30_000))
    assert h.post(SHOP, "/obligations/e-2/escrow/claim").status_code == 409  # window still open
    buyer_tokens = c.token.balance_of(h.accounts[BUYER].address)
    r = h.post("operator", "/obligations/e-3/escrow/refund")
    assert r.status_code == 200 and r.json()["order"]["status"] == "refunded", r.text
    assert c.token.balance_of(h.accounts[BUYER].address) == buyer_tokens + 30_000

    c.chain.advance_time(h.ctx.settings.escrow.dispute_window_seconds + 1)
    assert h.post(BUYER, "/obligations/e-2/escrow/dispute").status_code == 409  # too late
    _send(h, h.post(SHOP, "/obligations/e-2/escrow/claim"), SHOP)
    h.sync()
    assert h.get(SHOP, "/obligations/e-2").json()["status"] == "settled"
    assert h.get("auditor", "/obligations/e-2/escrow").json()["state"] == "closed"


def test_an_order_funded_for_another_creditor_or_amount_never_settles_the_obligation(settling_house):
    h = settling_house
    _house(h)
    c = h.contracts
    buyer = h.accounts[BUYER]
    _order(h, "e-4", 50_000)
    oid = _order_id(h, BUYER, "e-4")
    c.token.approve(c.escrow.address, 1, sender=buyer)
    c.escrow.fund(oid, h.accounts[OTHER].address, 1, 0, sender=buyer)  # 1 unit to someone else
    assert h.get(BUYER, "/obligations/e-4/escrow").json()["state"] == "mismatch"
    c.escrow.release(oid, 1, sender=buyer)
    h.sync()
    assert h.get(BUYER, "/obligations/e-4").json()["status"] == "escrow"
    r = h.post(BUYER, "/obligations/e-4/escrow/release")
    assert r.status_code == 409 and r.json()["values"]["state"] == "mismatch"
    netted = h.post(SHOP, "/obligations", {"id": "n-1", "debtor": SHOP, "creditor": OTHER, "amount": "1"})
    assert netted.status_code == 201
    assert h.get(SHOP, "/obligations/n-1/escrow").status_code == 409  # netted, not an order
