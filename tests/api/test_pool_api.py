"""Item 14: lenders fund the pool from their own wallets with the transactions the API prepares;
the pool's total, drawn part and utilisation follow on chain."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

LENT = 2_000_000


def test_lender_deposits_and_withdraws_with_prepared_transactions(settling_house):
    h = settling_house
    c = h.contracts
    lender = c.chain.accounts[8]
    c.token.mint(lender.address, LENT)  # the lender's own tokens (a dev token here)
    assert h.client.get("/pool").json()["total"] == "0"

    r = h.client.post("/pool/prepare-deposit", json={"lender": lender.address, "amount": str(LENT)})
    assert r.status_code == 200, r.text
    txs = r.json()["transactions"]
    assert [t["to"] for t in txs] == [c.token.address, c.house.address]
    assert all(t["from"] == lender.address and t["value"] == "0" for t in txs)
    for tx in txs:
        h.send(tx, lender)
    assert c.house.lender_balance(lender.address) == LENT and c.token.balance_of(lender.address) == 0
    pool = h.client.get("/pool").json()
    assert (pool["total"], pool["drawn"], pool["available"], pool["utilisation_bps"]) == (str(LENT), "0", str(LENT), 0)

    # A member draws on the pool through its credit line: utilisation follows. A member without history
    # earns no line, so the operator pins one, explicitly above the 30% cap (issue 9).
    h.add("alpha", 1)
    h.add("beta", 2)
    pin = {"credit_line": "500000", "above_cap": True, "reason": "pool test", "expires_at": "2099-01-01T00:00:00Z"}
    r = h.post("operator", "/members/alpha/credit/override", pin)
    assert r.status_code == 422 and r.json()["field"] == "expires_at"  # beyond the longest override allowed
    pin["expires_at"] = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    r = h.post("operator", "/members/alpha/credit/override", pin)
    assert r.status_code == 201 and r.json()["line"]["amount"] == "500000", r.text
    h.sync()
    r = h.post("alpha", "/obligations", {"id": "l-1", "debtor": "alpha", "creditor": "beta", "amount": "500000"})
    assert r.json()["obligation"]["status"] == "accepted", r.text
    cid = h.post("operator", "/cycles").json()["id"]
    assert h.post("operator", f"/cycles/{cid}/settle").json()["state"] == "SETTLED"
    pool = h.client.get("/pool").json()
    assert (pool["drawn"], pool["available"], pool["utilisation_bps"]) == ("500000", "1500000", 2500)
    me = h.client.get("/pool", params={"lender": lender.address}).json()["lender"]
    assert (me["deposited"], me["withdrawable"], me["share_bps"]) == (str(LENT), "1500000", 10_000)

    # Only the undrawn part can leave; the refusal says how much is available.
    r = h.client.post("/pool/prepare-withdrawal", json={"lender": lender.address, "amount": "1500001"})
    assert r.status_code == 409 and r.json()["field"] == "amount" and r.json()["values"]["available"] == "1500000"
    r = h.client.post("/pool/prepare-withdrawal", json={"lender": lender.address, "amount": "1500000"})
    assert r.status_code == 200, r.text
    [tx] = r.json()["transactions"]
    h.send(tx, lender)
    assert c.token.balance_of(lender.address) == 1_500_000
    assert c.house.lender_balance(lender.address) == 500_000
    assert h.client.get("/pool").json()["utilisation_bps"] == 10_000


def test_pool_requests_are_checked_before_anything_is_signed(settling_house):
    h = settling_house
    c = h.contracts
    lender = c.chain.accounts[8]
    c.token.mint(lender.address, 100)
    short = h.client.post("/pool/prepare-deposit", json={"lender": lender.address, "amount": "101"})
    assert short.status_code == 409 and short.json()["values"] == {"available": "100", "needed": "101"}
    c.token.approve(c.house.address, 100, sender=lender)
    approved = h.client.post("/pool/prepare-deposit", json={"lender": lender.address, "amount": "100"})
    assert [t["to"] for t in approved.json()["transactions"]] == [c.house.address]  # allowance already there
    bad = h.client.post("/pool/prepare-deposit", json={"lender": "0x12", "amount": "1"})
    assert bad.status_code == 422 and bad.json()["field"] == "lender"
    none = h.client.post("/pool/prepare-withdrawal", json={"lender": lender.address, "amount": "1"})
    assert none.status_code == 409 and none.json()["values"]["available"] == "0"
    bad = h.client.get("/pool", params={"lender": "0xnothex"})
    assert bad.status_code == 422 and bad.json()["field"] == "lender"


def test_a_house_without_a_chain_has_no_pool(sqlite_house):
    r = sqlite_house.client.get("/pool")
    assert r.status_code == 503 and r.headers["content-type"] == "application/problem+json"
