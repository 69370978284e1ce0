"""Pledged digital assets end to end on a real (in-process) chain through the HTTP API: the operator lists
collections (through the outbox), a member pledges test NFTs from its own wallet with the prepared calls,
its headroom grows by value × LTV (the service's mirror and the vault agree), a stale valuation counts 0,
unpledging is refused while obligations rest on the pledge and allowed otherwise, and the audit replays the
vault (and names an edited ledger row)."""

from __future__ import annotations

from sqlalchemy import select, update

from clearing.adapters.db.pledges import PledgePosition
from clearing.services import audit

HOUR = 3_600


def _list(h, collection: str, unit_value: int, ltv_bps: int, max_age: int = HOUR) -> dict:
    body = {"collection": collection, "unit_value": str(unit_value), "ltv_bps": ltv_bps, "max_age_seconds": max_age}
    r = h.post("operator", "/pledges/collections", body)
    assert r.status_code == 201, r.text
    return r.json()


def _prepare(h, who: str, kind: str, collection: str, token_id: int, amount: int | None = None):
    body = {"collection": collection, "token_id": str(token_id), **({"amount": str(amount)} if amount else {})}
    return h.post(who, f"/members/me/pledges/prepare-{kind}", body)


def _sign_all(h, who: str, r) -> None:
    assert r.status_code == 200, r.text
    for tx in r.json()["transactions"]:
        h.send(tx, h.accounts[who])
    h.sync()


def _pledges(h, who: str) -> dict:
    r = h.get(who, "/members/me/pledges")
    assert r.status_code == 200, r.text
    return r.json()


def test_pledges_count_as_collateral_until_stale_and_leave_only_when_solvent(settling_house):
    h = settling_house
    c = h.contracts
    h.add("alpha", 1)
    h.add("beta", 2, collateral=1_000)
    nft, items = c.deploy_test_collections()
    listed = _list(h, nft.address, 1_000, 5_000)
    assert (listed["standard"], listed["unit_value"], listed["ltv_bps"]) == ("erc721", "1000", 5000)
    assert listed["stale"] is False
    assert _list(h, items.address, 10, 8_000)["standard"] == "erc1155"
    nft.mint(h.accounts["alpha"].address, 7)
    items.mint(h.accounts["alpha"].address, 1, 50)
    assert _pledges(h, "alpha")["headroom"] == "0"

    # Refused up front, naming the field: an unlisted contract, a token not in the wallet, more than held.
    r = _prepare(h, "alpha", "pledge", c.token.address, 1)
    assert (r.status_code, r.json()["code"], r.json()["field"]) == (409, "pledge-refused", "collection")
    r = _prepare(h, "alpha", "pledge", nft.address, 8)
    assert (r.status_code, r.json()["field"]) == (409, "token_id")
    r = _prepare(h, "alpha", "pledge", items.address, 1, 51)
    assert (r.status_code, r.json()["field"]) == (409, "amount")
    assert r.json()["values"] == {"available": "50", "needed": "51"}

    # The member's wallet signs: approve + pledge721, setApprovalForAll + pledge1155.
    r = _prepare(h, "alpha", "pledge", nft.address, 7)
    assert [tx["to"] for tx in r.json()["transactions"]] == [nft.address, c.vault.address]
    _sign_all(h, "alpha", r)
    _sign_all(h, "alpha", _prepare(h, "alpha", "pledge", items.address, 1, 50))
    assert nft.owner_of(7) == c.vault.address and items.balance_of(c.vault.address, 1) == 50
    mine = _pledges(h, "alpha")
    # 1 × 1000 × 50% + 50 × 10 × 80%: the service's mirror, the vault and the headroom agree.
    assert (mine["collateral_value"], mine["mirrored_collateral_value"], mine["headroom"]) == ("900", "900", "900")
    assert mine["seizable_value"] == "1500"
    assert c.vault.collateral_value_of(h.accounts["alpha"].address) == 900
    liq = h.get("alpha", "/members/me").json()["member"]["liquidity"]
    assert (liq["pledged_collateral"], liq["headroom"], liq["withdrawable"]) == ("900", "900", "0")
    assert h.get("operator", "/members/alpha/pledges").json()["collateral_value"] == "900"

    # An obligation rests on the pledges: the NFT's 500 cannot leave, 10 game items (80) can.
    r = h.post("alpha", "/obligations", {"id": "p-1", "debtor": "alpha", "creditor": "beta", "amount": "600"})
    assert r.json()["obligation"]["status"] == "accepted", r.text
    r = _prepare(h, "alpha", "unpledge", nft.address, 7)
    assert (r.status_code, r.json()["field"]) == (409, "token_id"), r.text
    assert r.json()["values"]["headroom_without"] == "-200" and r.json()["values"]["collateral_value_removed"] == "500"
    _sign_all(h, "alpha", _prepare(h, "alpha", "unpledge", items.address, 1, 10))
    assert items.balance_of(h.accounts["alpha"].address, 1) == 10
    assert _pledges(h, "alpha")["headroom"] == str(900 - 80 - 600)
    r = _prepare(h, "alpha", "unpledge", items.address, 1, 41)
    assert (r.status_code, r.json()["field"]) == (409, "amount")

    # Stale valuations count 0 (no event says so: every sync rereads pledging members); revalued, they count again.
    c.chain.advance_time(HOUR + 1)
    h.sync()
    assert all(col["stale"] for col in h.get("operator", "/pledges/collections").json())
    mine = _pledges(h, "alpha")
    assert (mine["collateral_value"], mine["mirrored_collateral_value"], mine["headroom"]) == ("0", "0", "-600")
    r = h.client.put(f"/pledges/collections/{nft.address}", json={"unit_value": "2000"}, headers=h.headers("operator"))
    assert r.status_code == 200 and r.json()["stale"] is False, r.text
    assert _pledges(h, "alpha")["collateral_value"] == "1000"  # 1 × 2000 × 50%; the game items stay stale

    rep = audit.verify(h.ctx.sessions, c)
    assert rep.ok, rep.mismatches
    with h.ctx.uow() as uow:  # tamper with the ledger's mirror
        uow.session.execute(update(PledgePosition).where(PledgePosition.token_id == 1).values(amount=99))
        uow.commit()
        assert uow.session.scalar(select(PledgePosition.amount).where(PledgePosition.token_id == 1)) == 99
    rep = audit.verify(h.ctx.sessions, c)
    assert not rep.ok
    assert any("ledger 99 != replayed from events 40" in m for m in rep.mismatches), rep.mismatches


def test_collection_input_is_checked_before_the_chain(settling_house):
    h = settling_house
    nft, _ = h.contracts.deploy_test_collections()
    body = {"collection": nft.address, "unit_value": "1", "ltv_bps": 10_001, "max_age_seconds": 60}
    r = h.post("operator", "/pledges/collections", body)
    assert (r.status_code, r.json()["field"]) == (422, "ltv_bps")
    body = {"collection": h.contracts.token.address, "unit_value": "1", "ltv_bps": 100, "max_age_seconds": 60}
    r = h.post("operator", "/pledges/collections", body)
    assert (r.status_code, r.json()["field"]) == (409, "collection"), r.text
    r = h.client.put(f"/pledges/collections/{nft.address}", json={"unit_value": "5"}, headers=h.headers("operator"))
    assert (r.status_code, r.json()["field"]) == (404, "collection")
    body = {"collection": nft.address, "unit_value": str(2**96), "ltv_bps": 100, "max_age_seconds": 60}
    r = h.post("operator", "/pledges/collections", body)
    assert (r.status_code, r.json()["field"]) == (409, "unit_value")
