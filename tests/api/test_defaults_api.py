"""Issue 11, default: declared over HTTP, covered by the waterfall on a real chain step by step, cured.

The member defaulting has collateral (spent by its debit before it drew credit: step 1 covers what
is left of it, nothing, as always when a member owes), receivables pending in a two-step cycle the
operator has not released (step 3 takes them) and drawn credit (what step 3 does not cover, the
lenders absorb: step 4).
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from clearing.adapters.chain.vault_client import CollectibleClient
from clearing.adapters.db.models import Alert, AuditLog, Member
from clearing.api.app import create_app
from clearing.services import credit
from tests.api.conftest import ChainHouse, chain_app_house

GEM, BETA, GAMMA = "gemshop", "beta-cards", "gamma-video"
POOL = 10**12
STEP_NAMES = ["collateral", "pledged_assets", "receivables", "pool_lenders"]


@pytest.fixture
def pooled_house(db):
    """A house on a real chain with a funded pool and no members yet."""
    ctx, contracts = chain_app_house(db, lender_pool=POOL)
    with TestClient(create_app(ctx), raise_server_exceptions=False) as client:
        yield ChainHouse(ctx=ctx, client=client, contracts=contracts)


def _cycle(h: ChainHouse, obligations: list[tuple[str, str, str, int]], *, commit: bool) -> int:
    for oid, debtor, creditor, amount in obligations:
        r = h.post(debtor, "/obligations", {"id": oid, "debtor": debtor, "creditor": creditor, "amount": str(amount)})
        assert r.status_code == 201, r.text
        assert r.json()["obligation"]["status"] == "accepted", r.text
    cid = h.post("operator", "/cycles").json()["id"]
    r = h.post("operator", f"/cycles/{cid}/commit" if commit else f"/cycles/{cid}/settle")
    assert r.status_code == 200, r.text
    assert r.json()["state"] == ("COMMITTED" if commit else "SETTLED"), r.text
    h.sync()
    return cid


def _gem_owes_with_receivables(h: ChainHouse) -> tuple[int, int]:
    """gemshop: 1,000,000 collateral, a 500,000 line; 300,000 pending to it in a committed cycle, then a debit of
    1,400,000 that spends its collateral and draws 400,000 of credit. Returns (committed cycle, settled cycle)."""
    h.add(GEM, 1, tier="B", collateral=1_000_000, credit=500_000)
    h.add(BETA, 2, collateral=5_000_000)
    h.add(GAMMA, 3, collateral=5_000_000)
    credit.rescore(h.ctx, trigger="manual")  # the provisional line, now that collateral is posted
    h.sync()
    assert h.contracts.house.member(h.accounts[GEM].address).credit_limit == 500_000
    held = _cycle(h, [("b-1", BETA, GEM, 300_000)], commit=True)
    settled = _cycle(h, [("g-1", GEM, GAMMA, 1_400_000)], commit=False)
    assert h.balance(GEM) == -400_000
    assert h.contracts.house.pending_credit(held, h.accounts[GEM].address) == 300_000
    return held, settled


def test_waterfall_covers_a_default_step_by_step_on_chain_and_a_repaid_member_is_cured(pooled_house):
    h = pooled_house
    house = h.contracts.house
    held, _ = _gem_owes_with_receivables(h)
    gem = h.accounts[GEM].address
    pool_before = house.pool_total()
    start = h.contracts.chain.w3.eth.block_number + 1

    r = h.post("operator", f"/members/{GEM}/default", {"reason": "stopped paying after the summer sale"})
    assert r.status_code == 202, r.text
    d = r.json()
    assert (d["member"], d["trigger"], d["state"], d["cycle_ids"]) == (GEM, "operator", "allocated", [held])

    # On chain: declared, then the four steps in their order in one transaction, each an event.
    events = [e for e in house.events(start) if e.args.get("member") == gem]
    [declared] = [e for e in events if e.name == "MemberDefaulted"]
    debt = -declared.args["balance"]
    assert debt >= 400_000  # plus the interest charged on declaration
    steps = [e for e in events if e.name == "DefaultLossAllocated"]
    assert [e.args["step"] for e in steps] == [1, 2, 3, 4]
    assert len({e.tx_hash for e in steps}) == 1 and steps[0].log_index < steps[-1].log_index
    assert [(e.args["amount"], e.args["remainingLoss"]) for e in steps] == [
        (0, debt),
        (0, debt),
        (300_000, debt - 300_000),
        (debt - 300_000, 0),
    ]
    [written] = [e for e in events if e.name == "PoolWrittenDown"]
    assert written.args["amount"] == debt - 300_000
    state = house.member(gem)
    assert (state.defaulted, state.suspended, state.balance, state.owed_to_pool) == (True, True, 0, debt - 300_000)
    assert house.pool_total() == pool_before - (debt - 300_000) + (debt - 400_000)  # interest in, loss out
    assert house.pending_credit(held, gem) == 0

    # The ledger's record says the same, from the events.
    assert d["steps"] == dict(zip(STEP_NAMES, ["0", "0", "300000", str(debt - 300_000)], strict=True))
    assert (d["loss"], d["written_down"], d["balance_at_declaration"]) == (str(debt), str(debt - 300_000), str(-debt))
    assert d["declare_tx"] == declared.tx_hash and d["allocate_tx"] == steps[0].tx_hash
    assert h.get(GEM, "/members/me/default").json()["id"] == d["id"]
    assert [x["id"] for x in h.get("operator", "/defaults?active=true").json()] == [d["id"]]
    assert h.get("auditor", "/audit/verify").json()["ok"] is True

    # Suspended in the ledger (new debits held), tier C without a line, alerts for both.
    me = h.get(GEM, "/members/me").json()["member"]
    assert (me["status"], me["tier"], me["credit_line"]) == ("suspended", "C", "0")
    assert house.member(gem).credit_limit == 0
    r = h.post(GEM, "/obligations", {"id": "g-2", "debtor": GEM, "creditor": BETA, "amount": "5"})
    o = r.json()["obligation"]
    assert o["status"] == "held" and o["holds"][0]["rule"] == "member-suspended", r.text
    with h.ctx.uow(read_only=True) as uow:
        kinds = {
            (a.member_id is None, a.state) for a in uow.session.scalars(select(Alert)) if a.kind == "member_defaulted"
        }
    assert kinds == {(True, "open"), (False, "open")}

    # Not repaid yet: no cure; a resume is refused too.
    r = h.post("operator", f"/members/{GEM}/cure", {"reason": "asked nicely"})
    assert r.status_code == 409 and r.json()["values"]["owed_to_pool"] == str(debt - 300_000), r.text
    assert h.post("operator", f"/members/{GEM}/resume", {"reason": "x"}).status_code == 409

    # It repays from its own wallet: the deposit goes to the lenders first.
    h.contracts.fund_member(h.accounts[GEM], debt - 300_000 + 7)
    h.sync()
    assert house.member(gem).owed_to_pool == 0 and h.balance(GEM) == 7
    r = h.post("operator", f"/members/{GEM}/cure", {"reason": "repaid in full"})
    assert r.status_code == 202, r.text
    cured = r.json()
    assert (cured["state"], cured["recovered"], cured["cure_reason"]) == (
        "cured",
        str(debt - 300_000),
        "repaid in full",
    )
    state = house.member(gem)
    assert (state.defaulted, state.suspended) == (False, False)
    me = h.get(GEM, "/members/me").json()["member"]
    assert (me["status"], me["tier"]) == ("active", "C")
    with h.ctx.uow(read_only=True) as uow:
        s = uow.session
        assert {a.state for a in s.scalars(select(Alert)) if a.kind == "member_defaulted"} == {"resolved"}
        actions = [a.action for a in s.scalars(select(AuditLog).order_by(AuditLog.id))]
        # The tier pinned at admission ended with the default: it gives no credit back at the cure.
        assert [a for a in actions if a in ("credit.override_end", "member.default", "member.cure")] == [
            "credit.override_end",
            "member.default",
            "member.cure",
        ]
        assert s.scalar(select(Member.status).where(Member.name == GEM)) == "active"
    assert h.get("auditor", "/audit/verify").json()["ok"] is True
    # The default stays on the record: the score counts it after the cure.
    mine = h.get(GEM, "/members/me/credit").json()
    assert [f["value"] for f in mine["factors"] if f["name"] == "defaults"] == ["1"], mine


def _pledge_nft(h: ChainHouse, name: str, unit_value: int) -> CollectibleClient:
    """``name`` pledges a freshly minted collectible valued ``unit_value`` (LTV 50%) from its own wallet."""
    nft, _ = h.contracts.deploy_test_collections()
    body = {"collection": nft.address, "unit_value": str(unit_value), "ltv_bps": 5_000, "max_age_seconds": 86_400}
    assert h.post("operator", "/pledges/collections", body).status_code == 201
    nft.mint(h.accounts[name].address, 1)
    r = h.post(name, "/members/me/pledges/prepare-pledge", {"collection": nft.address, "token_id": "1"})
    assert r.status_code == 200, r.text
    for tx in r.json()["transactions"]:
        h.send(tx, h.accounts[name])
    h.sync()
    return nft


def test_waterfall_sells_the_pledges_and_a_financed_receivable_repays_its_advance_first(pooled_house):
    """Issue 12's waterfall through the service: gemshop holds collateral (spent by its debit), a pledged
    collectible and a financed receivable; each step shows on chain, in the ledger's record and in the audit."""
    h = pooled_house
    house, vault = h.contracts.house, h.contracts.vault
    assert vault is not None
    h.add(GEM, 1, tier="B", collateral=1_000_000, credit=500_000)
    h.add(BETA, 2, collateral=5_000_000)
    h.add(GAMMA, 3, collateral=5_000_000)
    credit.rescore(h.ctx, trigger="manual")
    h.sync()
    gem = h.accounts[GEM].address
    nft = _pledge_nft(h, GEM, 100_000)
    held = _cycle(h, [("b-1", BETA, GEM, 300_000)], commit=True)
    r = h.post(GEM, "/financing/advances", {"id": "adv-1", "cycle_id": held})
    assert r.status_code in (200, 201, 202), r.text
    h.sync()
    principal, fee = house.advance_of(held, gem)
    assert principal > 0 and principal + fee <= 300_000
    _cycle(h, [("g-1", GEM, GAMMA, 1_400_000)], commit=False)
    assert h.balance(GEM) == -400_000 + principal
    # The liquidator (the deployer in dev, which approved the house) needs the tokens it pays for pledges.
    h.contracts.token.mint(house.asset_vault()[1], 100_000)
    start = h.contracts.chain.w3.eth.block_number + 1

    r = h.post("operator", f"/members/{GEM}/default", {"reason": "stopped paying"})
    assert r.status_code == 202, r.text
    d = r.json()
    events = [e for e in house.events(start) if gem in (e.args.get("member"), e.args.get("creditor"))]
    [declared] = [e for e in events if e.name == "MemberDefaulted"]
    debt = -declared.args["balance"]
    steps = [
        (e.args["step"], e.args["amount"], e.args["remainingLoss"]) for e in events if e.name == "DefaultLossAllocated"
    ]
    left_after_pledges = debt - 100_000  # the liquidator paid the full valuation, not the 50% the line counted
    rest = 300_000 - principal - fee  # what the receivable leaves once the pool took its advance back
    assert steps == [
        (1, 0, debt),
        (2, 100_000, left_after_pledges),
        (3, rest, left_after_pledges - rest),
        (4, left_after_pledges - rest, 0),
    ]
    [sold] = [e for e in events if e.name == "PledgesSold"]
    [repaid] = [e for e in events if e.name == "AdvanceRepaid"]
    assert (sold.args["value"], repaid.args["principal"], repaid.args["fee"]) == (100_000, principal, fee)
    assert nft.owner_of(1) == house.asset_vault()[1], "the collectible went to the liquidator"
    assert (house.total_advanced(), house.advance_of(held, gem)) == (0, (0, 0))
    assert d["steps"] == dict(zip(STEP_NAMES, ["0", "100000", str(rest), str(left_after_pledges - rest)], strict=True))
    advance = h.get(GEM, "/financing/advances").json()
    assert [a["status"] for a in advance] == ["repaid"], advance
    report = h.get("auditor", "/audit/verify").json()
    assert report["ok"] is True, report["mismatches"]


def test_a_liquidator_that_cannot_pay_for_the_pledges_is_an_operator_alert_at_the_declaration(pooled_house):
    h = pooled_house
    house = h.contracts.house
    h.add(GEM, 1, tier="B", collateral=1_000_000, credit=500_000)
    h.add(GAMMA, 3, collateral=5_000_000)
    credit.rescore(h.ctx, trigger="manual")
    h.sync()
    _pledge_nft(h, GEM, 100_000)
    _cycle(h, [("g-1", GEM, GAMMA, 1_400_000)], commit=False)
    liquidator = house.asset_vault()[1]
    assert h.contracts.token.balance_of(liquidator) < 100_000  # the dev liquidator approved the house, unfunded
    r = h.post("operator", f"/members/{GEM}/default", {"reason": "stopped paying"})
    assert r.status_code == 202, r.text
    short = [a for a in h.get("operator", "/alerts").json() if a["kind"] == "liquidator_short"]
    assert [(a["dedup_key"], a["severity"]) for a in short] == [(f"liquidator:{GEM}", "critical")], short
    assert "valued 100000" in short[0]["message"] and liquidator in short[0]["message"]
    assert all(a["kind"] != "liquidator_short" for a in h.get(GEM, "/members/me/alerts").json())


def test_declaring_again_is_409_with_the_record_and_only_operators_declare(pooled_house):
    h = pooled_house
    h.add(GEM, 1, collateral=1_000)
    h.add(BETA, 2, collateral=1_000)
    assert h.post(GEM, f"/members/{BETA}/default", {"reason": "x"}).status_code == 403
    assert h.post("auditor", f"/members/{BETA}/default", {"reason": "x"}).status_code == 403
    assert h.get(GEM, "/defaults").status_code == 403
    assert h.get(GEM, f"/members/{GEM}/default").status_code == 403
    assert h.post(GEM, f"/members/{GEM}/cure", {"reason": "x"}).status_code == 403
    assert h.get(GEM, "/members/me/default").status_code == 404
    assert h.post("operator", "/members/nobody/default", {"reason": "x"}).status_code == 404
    r = h.post("operator", f"/members/{GEM}/default", {"reason": "  "})
    assert r.status_code == 422 and r.json()["field"] == "reason"
    assert h.post("operator", f"/members/{GEM}/cure", {"reason": "x"}).status_code == 409  # not in default

    first = h.post("operator", f"/members/{GEM}/default", {"reason": "fraud investigation"})
    assert first.status_code == 202, first.text
    # A member that owed nothing loses nothing: declared, no allocation needed.
    assert first.json()["state"] == "allocated" and first.json()["written_down"] is None
    again = h.post("operator", f"/members/{GEM}/default", {"reason": "again"})
    assert again.status_code == 409 and again.json()["field"] == "name"
    assert again.json()["values"]["default"]["id"] == first.json()["id"]
    assert again.json()["values"]["default"]["reason"] == "fraud investigation"
    # Its balance was never negative: it can be cured at once.
    cured = h.post("operator", f"/members/{GEM}/cure", {"reason": "cleared"})
    assert cured.status_code == 202 and cured.json()["state"] == "cured", cured.text
    assert h.contracts.house.member(h.accounts[GEM].address).defaulted is False
    assert h.get("auditor", "/audit/verify").json()["ok"] is True
