"""Receivables financing over HTTP on a real chain: a creditor quotes and takes an advance on its credit
pending in a committed cycle; a release repays the pool first, a refund takes recourse; the ledger mirrors
the chain through each step and the audit replays it (and names a tampered advance)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from clearing.adapters.chain import backends
from clearing.adapters.db.advances import ReceivableAdvance
from clearing.adapters.db.models import Member
from clearing.api.app import create_app
from clearing.domain.financing import AdvanceTerms, quote
from tests.api.conftest import ChainHouse, chain_app_house

ALPHA, BETA, GAMMA = "alpha-games", "beta-cards", "gamma-video"
POOL = 5_000_000


def financing_house(db, lender_pool: int, chain: backends.Chain | None = None) -> Iterator[ChainHouse]:
    ctx, contracts = chain_app_house(db, lender_pool=lender_pool, chain=chain)
    with TestClient(create_app(ctx), raise_server_exceptions=False) as client:
        h = ChainHouse(ctx=ctx, client=client, contracts=contracts)
        h.add(ALPHA, 1, collateral=5_000_000)
        h.add(BETA, 2, collateral=3_000_000)
        h.add(GAMMA, 3, tier="B", collateral=2_000_000)
        yield h


@pytest.fixture
def fin_house(db) -> Iterator[ChainHouse]:
    """Three members and a pool of ``POOL`` lent by dev account 9, on each ledger backend."""
    yield from financing_house(db, POOL)


@pytest.fixture
def dry_house(sqlite_db) -> Iterator[ChainHouse]:
    """The same members and no pool at all."""
    yield from financing_house(sqlite_db, 0)


def committed(h: ChainHouse, prefix: str = "f") -> int:
    """A cycle committed into escrow: alpha owes beta 1,000,000 and gamma 600,000; beta owes gamma 200,000."""
    for oid, debtor, creditor, amount in (
        (f"{prefix}-1", ALPHA, BETA, 1_000_000),
        (f"{prefix}-2", ALPHA, GAMMA, 600_000),
        (f"{prefix}-3", BETA, GAMMA, 200_000),
    ):
        r = h.post(debtor, "/obligations", {"id": oid, "debtor": debtor, "creditor": creditor, "amount": str(amount)})
        assert r.status_code == 201, r.text
    cid = h.post("operator", "/cycles").json()["id"]
    r = h.post("operator", f"/cycles/{cid}/commit")
    assert r.status_code == 200 and r.json()["state"] == "COMMITTED", r.text
    return cid


def mirrored(h: ChainHouse) -> None:
    """The ledger's mirror of every member's balance equals the chain's."""
    with h.ctx.uow(read_only=True) as uow:
        ledger = dict(uow.session.execute(select(Member.name, Member.chain_balance)).all())
    assert ledger == {n: h.balance(n) for n in ledger}


def _audit_ok(h: ChainHouse) -> None:
    report = h.get("auditor", "/audit/verify").json()
    assert report["ok"] is True, report["mismatches"]


def test_quote_take_retry_and_a_release_repays_the_pool_first(fin_house):
    h = fin_house
    cid = committed(h)
    house, beta = h.contracts.house, h.accounts[BETA].address
    before, pool_before = h.balance(BETA), house.pool_total()
    r = h.get(BETA, f"/financing/quote?cycle_id={cid}")
    assert r.status_code == 200, r.text
    q = r.json()
    # Beta's credit comes from alpha (tier A): the default haircut 5%, 12% a year for the days to claimable.
    claimable = house.cycle(cid).claimable_at
    days = max(1, -(-(claimable - h.contracts.chain.timestamp()) // 86_400))
    expected = quote(800_000, "A", days=days, terms=AdvanceTerms({"A": 500, "B": 1_500, "C": 10_000}, 1_200))
    assert (q["receivable"], q["debtor_tier"], q["debtors"], q["days"]) == ("800000", "A", [ALPHA], days)
    assert (q["advance"], q["fee"], q["gross"]) == (
        str(expected.advance),
        str(expected.gross - expected.advance),
        str(expected.gross),
    )
    assert q["pool_liquidity"] == str(POOL)
    assert h.balance(BETA) == before  # a quote changes nothing

    r = h.post(BETA, "/financing/advances", {"id": "adv-1", "cycle_id": cid})
    assert r.status_code == 201, r.text
    adv = r.json()
    principal, fee = int(adv["principal"]), int(adv["fee"])
    assert (principal, fee) == (expected.advance, expected.gross - expected.advance)
    assert adv["status"] == "open" and adv["owed"] == adv["owed_on_chain"] == str(principal + fee)
    assert adv["advance_tx"] and adv["outbox_state"] == "mined"
    assert house.advance_of(cid, beta) == (principal, fee) and house.total_advanced() == principal
    assert h.balance(BETA) == before + principal
    mirrored(h)
    _audit_ok(h)

    # The same id again: the first answer, nothing paid twice; with another cycle, a conflict naming the id.
    again = h.post(BETA, "/financing/advances", {"id": "adv-1", "cycle_id": cid})
    assert again.status_code == 201 and again.json()["id"] == adv["id"]
    assert h.balance(BETA) == before + principal
    clash = h.post(BETA, "/financing/advances", {"id": "adv-1", "cycle_id": cid + 1})
    assert clash.status_code == 409 and clash.json()["field"] == "id"
    second = h.post(BETA, "/financing/advances", {"id": "adv-2", "cycle_id": cid})
    assert second.status_code == 409 and second.json()["field"] == "cycle_id"
    assert second.json()["type"].endswith("advance-exists")

    # Release everything: beta's credit repays the pool principal + fee first, the rest reaches its balance.
    r = h.post("operator", f"/cycles/{cid}/release")
    assert r.status_code == 200, r.text
    assert house.advance_of(cid, beta) == (0, 0) and house.total_advanced() == 0
    assert house.pool_total() == pool_before + fee
    assert h.balance(BETA) == before + 800_000 - fee
    [mine] = h.get(BETA, "/financing/advances").json()
    assert mine["status"] == "repaid" and mine["owed"] == "0" and mine["owed_on_chain"] == "0"
    assert (mine["repaid_principal"], mine["repaid_fee"]) == (str(principal), str(fee))
    mirrored(h)
    _audit_ok(h)
    # The operator sees every advance; another member sees none of beta's.
    assert [a["member"] for a in h.get("operator", "/financing/advances").json()] == [BETA]
    assert h.get(GAMMA, "/financing/advances").json() == []


def test_a_refund_takes_recourse_on_the_creditor(fin_house):
    h = fin_house
    cid = committed(h)
    house, beta = h.contracts.house, h.accounts[BETA].address
    before, pool_before = h.balance(BETA), house.pool_total()
    adv = h.post(BETA, "/financing/advances", {"id": "adv-r", "cycle_id": cid}).json()
    principal, fee = int(adv["principal"]), int(adv["fee"])
    # Cancel 300,000 of beta's credit: 500,000 left cannot repay principal + fee, so beta is charged the rest now.
    r = h.post(
        "operator", f"/cycles/{cid}/refund", {"id": "rf-1", "cancel": {BETA: "300000"}, "refund": {ALPHA: "300000"}}
    )
    assert r.status_code == 200, r.text
    short = principal + fee - 500_000
    assert sum(house.advance_of(cid, beta)) == 500_000
    assert h.balance(BETA) == before + principal - short
    [mine] = h.get(BETA, "/financing/advances").json()
    assert mine["status"] == "recourse" and mine["owed"] == mine["owed_on_chain"] == "500000"
    assert int(mine["recourse_principal"]) + int(mine["recourse_fee"]) == short
    mirrored(h)
    _audit_ok(h)
    # The rest of the cycle refunded: the advance is taken back whole, the pool keeps its fee.
    r = h.post("operator", f"/cycles/{cid}/refund", {"id": "rf-2"})
    assert r.status_code == 200, r.text
    assert house.advance_of(cid, beta) == (0, 0) and house.total_advanced() == 0
    assert h.balance(BETA) == before - fee and house.pool_total() == pool_before + fee
    mirrored(h)
    _audit_ok(h)


def test_refusals_name_the_field(fin_house):
    h = fin_house
    open_cycle = h.post("operator", "/cycles").json()["id"]
    r = h.get(BETA, f"/financing/quote?cycle_id={open_cycle}")
    assert r.status_code == 409 and r.json()["field"] == "cycle_id" and "no net receivable" in r.json()["detail"]
    assert h.get(BETA, "/financing/quote?cycle_id=999999").status_code == 404
    cid = committed(h)
    # The debtor has nothing pending; an operator key is not a creditor; a bad body is a 422 naming the field.
    r = h.post(ALPHA, "/financing/advances", {"id": "a-1", "cycle_id": cid})
    assert r.status_code == 409 and r.json()["field"] == "cycle_id" and "no credit pending" in r.json()["detail"]
    assert h.post("operator", "/financing/advances", {"id": "o-1", "cycle_id": cid}).status_code == 403
    bad = h.post(BETA, "/financing/advances", {"id": "has space", "cycle_id": cid})
    assert bad.status_code == 422 and bad.json()["field"] == "id"
    # Held: no advance until the hold ends.
    now = datetime.fromtimestamp(h.contracts.chain.timestamp(), UTC)
    until = (now + timedelta(hours=1)).replace(microsecond=0)
    assert h.post("operator", f"/cycles/{cid}/hold", {"until": until.isoformat()}).status_code == 200
    r = h.post(BETA, "/financing/advances", {"id": "b-1", "cycle_id": cid})
    assert r.status_code == 409 and r.json()["field"] == "cycle_id" and "held" in r.json()["detail"]
    assert h.get(BETA, "/financing/advances").json() == []
    h.contracts.chain.advance_time(3601)
    assert h.post(BETA, "/financing/advances", {"id": "b-1", "cycle_id": cid}).status_code == 201


def test_a_pool_too_small_refuses_naming_the_pool(dry_house):
    h = dry_house
    cid = committed(h)
    r = h.post(BETA, "/financing/advances", {"id": "p-1", "cycle_id": cid})
    assert r.status_code == 409 and r.json()["field"] == "pool", r.text
    assert r.json()["values"]["available"] == "0"


def test_the_audit_names_a_tampered_advance(fin_house):
    h = fin_house
    cid = committed(h)
    assert h.post(GAMMA, "/financing/advances", {"id": "g-1", "cycle_id": cid}).status_code == 201
    _audit_ok(h)
    with h.ctx.uow() as uow:
        uow.session.execute(update(ReceivableAdvance).values(repaid_fee=1))
        uow.commit()
    report = h.get("auditor", "/audit/verify").json()
    assert report["ok"] is False
    assert any("advance" in m and "ledger owes" in m for m in report["mismatches"]), report["mismatches"]


def test_an_advance_on_the_open_cycle_is_paid_when_it_commits_into_escrow_and_lapses_if_it_settles_at_once(
    fin_house,
):
    h = fin_house
    house, beta = h.contracts.house, h.accounts[BETA].address
    for oid, debtor, creditor, amount in (
        ("o-1", ALPHA, BETA, 1_000_000),
        ("o-2", ALPHA, GAMMA, 600_000),
        ("o-3", BETA, GAMMA, 200_000),
    ):
        r = h.post(debtor, "/obligations", {"id": oid, "debtor": debtor, "creditor": creditor, "amount": str(amount)})
        assert r.status_code == 201, r.text
    cid = h.post("operator", "/cycles").json()["id"]
    assert h.get("operator", f"/cycles/{cid}").json()["state"] == "OPEN"
    before = h.balance(BETA)

    # Beta is owed 1,000,000 by alpha and owes gamma 200,000: its net receivable in the open cycle is 800,000,
    # priced for the claim delay after the (operator's) cut-off.
    q = h.get(BETA, f"/financing/quote?cycle_id={cid}").json()
    days = max(1, -(-house.claim_delay() // 86_400))
    expected = quote(800_000, "A", days=days, terms=AdvanceTerms({"A": 500, "B": 1_500, "C": 10_000}, 1_200))
    assert (q["receivable"], q["debtors"], q["days"], q["advance"]) == ("800000", [ALPHA], days, str(expected.advance))
    # Alpha only owes: it has no receivable to take an advance on.
    refused = h.get(ALPHA, f"/financing/quote?cycle_id={cid}")
    assert refused.status_code == 409 and refused.json()["field"] == "cycle_id"

    r = h.post(BETA, "/financing/advances", {"id": "open-1", "cycle_id": cid})
    assert r.status_code == 201, r.text
    adv = r.json()
    assert (adv["status"], adv["outbox_id"], adv["advance_tx"]) == ("scheduled", None, None)
    assert h.balance(BETA) == before and house.total_advanced() == 0  # nothing moves before the commit
    twice = h.post(BETA, "/financing/advances", {"id": "open-2", "cycle_id": cid})
    assert twice.status_code == 409 and twice.json()["type"].endswith("advance-exists")

    # The operator commits the cycle into escrow: the advance is paid on the committed credit.
    r = h.post("operator", f"/cycles/{cid}/commit")
    assert r.status_code == 200 and r.json()["state"] == "COMMITTED", r.text
    [paid] = h.get(BETA, "/financing/advances").json()
    principal, fee = int(paid["principal"]), int(paid["fee"])
    assert (principal, fee) == (expected.advance, expected.gross - expected.advance)
    assert paid["status"] == "open" and paid["advance_tx"] and paid["lapsed"] is None
    assert house.advance_of(cid, beta) == (principal, fee)
    assert h.balance(BETA) == before + principal
    mirrored(h)
    _audit_ok(h)
    r = h.post("operator", f"/cycles/{cid}/release")
    assert r.status_code == 200, r.text
    assert h.get(BETA, "/financing/advances").json()[0]["status"] == "repaid"
    assert h.balance(BETA) == before + 800_000 - fee

    # Taken on the next open cycle, which then settles at once: the credit is paid in full, the advance lapses.
    r = h.post(ALPHA, "/obligations", {"id": "o-4", "debtor": ALPHA, "creditor": BETA, "amount": "50000"})
    assert r.status_code == 201, r.text
    nxt = h.post("operator", "/cycles").json()["id"]
    assert h.post(BETA, "/financing/advances", {"id": "open-3", "cycle_id": nxt}).json()["status"] == "scheduled"
    assert h.post("operator", f"/cycles/{nxt}/settle").json()["state"] == "SETTLED"
    lapsed = h.get(BETA, f"/financing/advances?cycle_id={nxt}").json()[0]
    assert lapsed["status"] == "lapsed" and "settled in full at once" in lapsed["lapsed"]
    assert house.advance_of(nxt, beta) == (0, 0) and house.total_advanced() == 0
    assert h.balance(BETA) == before + 800_000 - fee + 50_000
    mirrored(h)
    _audit_ok(h)
