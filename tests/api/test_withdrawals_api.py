"""Item 15: a withdrawal answers with the exact transaction the member signs, and is tracked to completion."""

from __future__ import annotations


def test_withdrawal_returns_the_transaction_to_sign_and_tracks_it_to_mined(settling_house):
    h = settling_house
    h.add("alpha", 1, collateral=1_000_000)
    alpha = h.accounts["alpha"]
    tokens_before = h.contracts.token.balance_of(alpha.address)

    r = h.post("alpha", "/members/me/withdrawals", {"amount": "400000", "id": "w-1"})
    assert r.status_code == 202, r.text
    w = r.json()
    assert (w["state"], w["tx_hash"], w["id"]) == ("planned", None, "w-1")
    tx = w["transaction"]
    assert tx["from"] == alpha.address and tx["to"] == h.contracts.house.address
    assert (tx["value"], tx["chain_id"]) == ("0", h.contracts.chain.chain_id)
    assert tx["data"] == h.contracts.house.encode_withdraw(400_000, alpha.address)
    # A retry with the same id is the same request: reserved once.
    again = h.post("alpha", "/members/me/withdrawals", {"amount": "400000", "id": "w-1"})
    assert again.status_code == 202 and again.json()["outbox_id"] == w["outbox_id"]
    clash = h.post("alpha", "/members/me/withdrawals", {"amount": "1", "id": "w-1"})
    assert clash.status_code == 409 and clash.json()["field"] == "id"
    liq = h.get("alpha", "/members/me").json()["member"]["liquidity"]
    assert (liq["pending_withdrawal"], liq["withdrawable"]) == ("400000", "600000")

    mined = h.send(tx, alpha)  # the member's own wallet signs and sends it
    h.sync()
    [done] = h.get("alpha", "/members/me/withdrawals").json()
    assert (done["state"], done["tx_hash"], done["block"]) == ("mined", mined.tx_hash, mined.block)
    assert done["transaction"] == tx
    assert h.contracts.token.balance_of(alpha.address) == tokens_before + 400_000
    assert h.balance("alpha") == 600_000
    liq = h.get("alpha", "/members/me").json()["member"]["liquidity"]
    assert (liq["pending_withdrawal"], liq["collateral"], liq["withdrawable"]) == ("0", "600000", "600000")


def test_without_a_chain_the_withdrawal_waits_for_its_call_data(sqlite_house):
    r = sqlite_house.post("alpha", "/members/me/withdrawals", {"amount": "5"})
    assert r.status_code == 202 and (r.json()["state"], r.json()["transaction"]) == ("planned", None)
