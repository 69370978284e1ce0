"""Close → net → commit → release on a real chain, crash and restart at each step, audit."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from clearing.adapters.chain import backends
from clearing.adapters.db.models import SettlementTx
from clearing.adapters.db.reservations import reservation_mismatches
from clearing.services import audit
from clearing.services import submission as obligations
from clearing.services.cycles import CycleService
from clearing.services.submission import ObligationInput

from .conftest import build_house

SPEC = [
    ("alpha", "A", 5_000_000, 2_000_000),
    ("beta", "A", 3_000_000, 1_000_000),
    ("gamma", "B", 2_000_000, 0),
    ("delta", "B", 50_000, 0),
]


class Crash(Exception):
    pass


def _submit(house, rows):
    by_debtor: dict[str, list] = {}
    for oid, d, c, amt in rows:
        by_debtor.setdefault(d, []).append(ObligationInput(id=oid, debtor=d, creditor=c, amount=amt))
    for d, items in by_debtor.items():
        obligations.submit(house.ctx, house.principals[d], items, batch=True)


ROWS = [
    ("o1", "alpha", "beta", 700_000),
    ("o2", "beta", "gamma", 400_000),
    ("o3", "gamma", "alpha", 300_000),
    ("o4", "alpha", "gamma", 250_000),
    ("o5", "delta", "alpha", 40_000),
    ("o6", "beta", "alpha", 90_000),
]


def _expected_positions(rows):
    pos: dict[str, int] = {}
    for _, d, c, a in rows:
        pos[d] = pos.get(d, 0) - a
        pos[c] = pos.get(c, 0) + a
    return pos


def _reservations_exact(house) -> None:
    """The running reserved sums equal a recount from the obligation rows."""
    with house.ctx.uow(read_only=True) as uow:
        assert reservation_mismatches(uow.session) == {}


def _commits_on_chain(house, cycle_id):
    return [
        e
        for e in house.contracts.house.events(house.contracts.deployment.block)
        if e.name == "CycleCommitted" and e.args["cycleId"] == cycle_id
    ]


def test_cycle_settles_on_chain_and_audit_passes(db_url):
    house = build_house(db_url, backends.embedded(), SPEC)
    _submit(house, ROWS)
    before = {n: house.contracts.house.balance_of(k.address) for n, k in house.keys.items()}
    view = CycleService(house.ctx.sessions, house.contracts).settle()
    assert view.state == "SETTLED" and view.settled == len(ROWS)
    for name, delta in _expected_positions(ROWS).items():
        assert house.contracts.house.balance_of(house.keys[name].address) == before[name] + delta
    assert {obligations.get_any(house.ctx, r[0]).status for r in ROWS} == {"settled"}
    report = audit.verify(house.ctx.sessions, house.contracts)
    assert report.ok, report.mismatches
    _reservations_exact(house)
    # Settling again changes nothing and sends nothing.
    with house.ctx.uow(read_only=True) as uow:
        sent = uow.session.scalar(select(func.count()).select_from(SettlementTx))
    again = CycleService(house.ctx.sessions, house.contracts).settle(view.id)
    assert again.state == "SETTLED"
    with house.ctx.uow(read_only=True) as uow:
        assert uow.session.scalar(select(func.count()).select_from(SettlementTx)) == sent
    assert len(_commits_on_chain(house, view.id)) == 1


@pytest.mark.parametrize("stage", ["signed", "sent"])
@pytest.mark.parametrize(("kind", "one_step"), [("settleCycle", True), ("commitCycle", False), ("releaseCycle", False)])
def test_crash_at_any_step_then_restart_settles_exactly_once(db_url, stage, kind, one_step):
    house = build_house(db_url, backends.embedded(), SPEC)
    _submit(house, ROWS)
    calls = []

    def crash(at: str) -> None:
        calls.append(at)
        # The outbox crashes only in the chosen call: commit is the first call, release the second.
        target = 2 if kind == "releaseCycle" else 1
        if at == stage and calls.count(stage) == target:
            raise Crash(f"crash after {stage} of {kind}")

    with pytest.raises(Crash):
        CycleService(house.ctx.sessions, house.contracts, crash_hook=crash, one_step=one_step).settle()
    # A new process: recover() finds the cycle mid-way and finishes it from the chain.
    views = CycleService(house.ctx.sessions, house.contracts, one_step=one_step).recover()
    assert [v.state for v in views] == ["SETTLED"]
    assert len(_commits_on_chain(house, views[0].id)) == 1
    assert house.contracts.house.cycle(views[0].id).escrowed == 0
    assert audit.verify(house.ctx.sessions, house.contracts).ok


@pytest.mark.anvil
def test_transaction_lost_by_the_node_is_resent_after_restart(sqlite_db):
    chain = backends.spawn_anvil()
    try:
        house = build_house(sqlite_db.url, chain, SPEC)
        _submit(house, ROWS)
        w3 = chain.w3

        def lose(at: str) -> None:
            if at == "signed":
                w3.provider.make_request("evm_setAutomine", [False])
            if at == "sent":
                w3.provider.make_request("anvil_dropAllTransactions", [])
                w3.provider.make_request("evm_setAutomine", [True])
                raise Crash("node lost the commit, then the service died")

        with pytest.raises(Crash):
            CycleService(house.ctx.sessions, house.contracts, crash_hook=lose).settle()
        assert house.contracts.house.cycle(1).status == 0  # really lost
        views = CycleService(house.ctx.sessions, house.contracts).recover()
        assert views[0].state == "SETTLED"
        assert len(_commits_on_chain(house, views[0].id)) == 1
    finally:
        chain.close()


def test_scarce_liquidity_settles_a_feasible_subset_and_carries_the_rest(db_url):
    house = build_house(db_url, backends.embedded(), SPEC)
    # delta has 50,000 collateral and no credit: its 90,000 order cannot settle.
    rows = ROWS + [("big", "delta", "beta", 90_000)]
    _submit(house, rows)
    view = CycleService(house.ctx.sessions, house.contracts).settle()
    carried = obligations.get_any(house.ctx, "big")
    assert view.state == "PARTIAL"
    assert carried.status == "carried" and carried.shortfall and carried.shortfall > 0
    assert house.contracts.house.balance_of(house.keys["delta"].address) >= 0
    assert audit.verify(house.ctx.sessions, house.contracts).ok
    _reservations_exact(house)


def test_tampering_with_a_settled_obligation_fails_the_audit(db_url):
    house = build_house(db_url, backends.embedded(), SPEC)
    _submit(house, ROWS)
    view = CycleService(house.ctx.sessions, house.contracts).settle()
    with house.ctx.uow() as uow:
        uow.session.execute(text("UPDATE obligations SET amount = :a WHERE id = 'o2'"), {"a": "400001"})
        uow.commit()
    report = audit.verify(house.ctx.sessions, house.contracts)
    assert not report.ok
    assert report.mismatches[0].startswith(f"cycle {view.id}: root recomputed from ledger obligations")


def test_proof_verifies_against_the_chain_alone(db_url):
    house = build_house(db_url, backends.embedded(), SPEC)
    _submit(house, ROWS)
    view = CycleService(house.ctx.sessions, house.contracts).settle()
    c = house.contracts
    proof = audit.prove(house.ctx.sessions, c.chain.chain_id, c.house.address, "o3").to_dict()
    assert proof["cycle_id"] == view.id
    assert audit.check_proof(c.house, proof) == []
    forged = {**proof, "amount": str(int(proof["amount"]) + 1)}
    assert audit.check_proof(c.house, forged)


def test_tier_c_obligation_settles_through_its_order_escrow(db_url):
    house = build_house(db_url, backends.embedded(), SPEC + [("zeta", "C", 0, 0)])  # prepays, no collateral
    obligations.submit(
        house.ctx,
        house.principals["zeta"],
        [ObligationInput(id="c-1", debtor="zeta", creditor="alpha", amount=70_000)],
        batch=False,
    )
    assert obligations.get_any(house.ctx, "c-1").status == "escrow"
    view = CycleService(house.ctx.sessions, house.contracts).settle()
    assert view.obligations == 0  # escrow-routed obligations never enter netting
    c, zeta, alpha = house.contracts, house.keys["zeta"], house.keys["alpha"]
    from clearing.domain.merkle import obligation_key
    from clearing.services import chain_sync

    order = obligation_key(zeta.address, "c-1")  # zeta submitted it: keccak256(abi.encode(zeta, "c-1"))
    assert obligations.get_any(house.ctx, "c-1").obligation_key == "0x" + order.hex()
    c.token.mint(zeta.address, 70_000)
    c.token.approve(c.escrow.address, 70_000, sender=zeta)
    c.escrow.fund(order, alpha.address, 70_000, 600, sender=zeta)
    chain_sync.sync(house.ctx.sessions, c)
    assert obligations.get_any(house.ctx, "c-1").status == "escrow"  # funded, window still open
    c.chain.advance_time(601)
    c.escrow.claim(order)
    chain_sync.sync(house.ctx.sessions, c)
    assert obligations.get_any(house.ctx, "c-1").status == "settled"
    assert c.token.balance_of(alpha.address) == 70_000
    _reservations_exact(house)


def test_scheduled_cutoff_settles_without_an_operator(db_url):
    import time

    from clearing.services.scheduler import Scheduler

    house = build_house(db_url, backends.embedded(), SPEC)
    assert house.ctx.cycles is not None  # the composition root built the cycle service
    _submit(house, ROWS)
    sched = Scheduler(house.ctx, cutoff_seconds=1, sync_seconds=0.2)
    sched.start()
    try:
        deadline = time.monotonic() + 30
        while not any(v.state == "SETTLED" for v in house.ctx.cycles.list()):
            assert time.monotonic() < deadline, "no scheduled cut-off settled a cycle"
            time.sleep(0.2)
    finally:
        sched.stop()
    assert {obligations.get_any(house.ctx, r[0]).status for r in ROWS} == {"settled"}
