"""Holds lapse by themselves: tier auto-release on the scheduler (with or without a chain), suspension on resume."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from clearing.adapters.db.models import HoldReview, Member
from clearing.adapters.db.reservations import reservation_mismatches
from clearing.domain.risk import RiskConfig
from clearing.services import holds, members
from clearing.services import submission as osvc
from clearing.services.context import ServiceContext
from clearing.services.scheduler import Scheduler
from tests.conftest import OPERATOR, admit_member, ledger_house

#: Small single-order limits so a test can raise holds: tier A releases after 900 s, tier B's
#: first graded step (up to 10% over) after an hour, and beyond 50% over waits for a reviewer.
CONFIG = RiskConfig(single_order_limit={"A": 100, "B": 100, "C": 100})


class Clock:
    def __init__(self) -> None:
        self.t = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.t


def _house(database, clock: Clock) -> ServiceContext:
    return ledger_house(database, risk_config=CONFIG, clock=clock)


def _submit(ctx: ServiceContext, debtor, id: str, amount: int, creditor: str = "shop") -> osvc.ObligationView:
    ob = osvc.ObligationInput(id=id, debtor=debtor.member_name, creditor=creditor, amount=amount)
    [result] = osvc.submit(ctx, debtor, [ob], batch=False)
    return result.obligation


def _status(ctx: ServiceContext, id: str) -> str:
    return osvc.get_any(ctx, id).status


def _exact(ctx: ServiceContext) -> None:
    with ctx.uow(read_only=True) as uow:
        assert reservation_mismatches(uow.session) == {}


def test_scheduler_releases_due_holds_in_a_house_without_a_chain(db):
    clock = Clock()
    ctx = _house(db, clock)
    assert ctx.contracts is None  # ledger-only: the scheduler used to refuse such a house
    a = admit_member(ctx, "fast", tier="A", collateral=10**6).principal
    admit_member(ctx, "shop", collateral=0)
    held = _submit(ctx, a, "big", 150)
    assert held.status == "held" and held.holds[0].release_after == clock.t + timedelta(seconds=900)
    sched = Scheduler(ctx, cutoff_seconds=0, sync_seconds=0.05)
    sched.tick()
    assert _status(ctx, "big") == "held"  # not due yet
    sched.start()
    try:
        clock.t += timedelta(seconds=900)
        deadline = time.monotonic() + 15
        while _status(ctx, "big") != "accepted":
            assert time.monotonic() < deadline, "the scheduler never released the due hold"
            time.sleep(0.05)
    finally:
        sched.stop()
    [h] = holds.list_holds(ctx, status=None)
    assert h.status == "released"
    _exact(ctx)


def test_scheduled_cutoffs_still_need_a_chain(db):
    from clearing.errors import ServiceUnavailable

    with pytest.raises(ServiceUnavailable):
        Scheduler(_house(db, Clock()), cutoff_seconds=60)


def test_graded_and_manual_holds_lapse_only_as_their_tier_says(db):
    clock = Clock()
    ctx = _house(db, clock)
    b = admit_member(ctx, "graded", tier="B", collateral=10**6).principal
    admit_member(ctx, "shop", collateral=0)
    _submit(ctx, b, "b-graded", 105)  # 5% over: released after an hour
    _submit(ctx, b, "b-manual", 1_000)  # 900% over: a reviewer decides
    clock.t += timedelta(seconds=3599)
    assert holds.release_lapsed(ctx) == 0
    clock.t += timedelta(seconds=1)
    assert holds.release_lapsed(ctx) == 1
    assert (_status(ctx, "b-graded"), _status(ctx, "b-manual")) == ("accepted", "held")
    clock.t += timedelta(days=30)
    assert holds.release_lapsed(ctx) == 0 and _status(ctx, "b-manual") == "held"


def test_resume_re_evaluates_member_suspended_holds(db):
    ctx = _house(db, Clock())
    a = admit_member(ctx, "alpha", tier="B", collateral=10**6).principal
    b = admit_member(ctx, "beta", tier="B", collateral=10**6).principal
    admit_member(ctx, "shop", collateral=0)
    members.set_status(ctx, OPERATOR, "alpha", suspended=True, reason="kyc")
    members.set_status(ctx, OPERATOR, "beta", suspended=True, reason="kyc")
    assert [h.rule for h in _submit(ctx, a, "plain", 10).holds] == ["member-suspended"]
    big = _submit(ctx, a, "also-too-big", 1_000)  # a manual single-order hold besides the suspension
    assert sorted(h.rule for h in big.holds) == ["member-suspended", "single-order-limit"]
    both = _submit(ctx, a, "both-suspended", 10, creditor="beta")
    assert [h.values["member"] for h in both.holds] == ["alpha", "beta"]
    _submit(ctx, b, "beta-debt", 10)

    members.set_status(ctx, OPERATOR, "alpha", suspended=False, reason="kyc ok")
    assert _status(ctx, "plain") == "accepted"  # at once, with the headroom check
    assert _status(ctx, "also-too-big") == "held"  # its single-order hold still waits for a reviewer
    assert _status(ctx, "both-suspended") == "held"  # beta is still suspended
    assert _status(ctx, "beta-debt") == "held"
    members.set_status(ctx, OPERATOR, "beta", suspended=False, reason="kyc ok")
    assert _status(ctx, "both-suspended") == "accepted" and _status(ctx, "beta-debt") == "accepted"
    with ctx.uow(read_only=True) as uow:
        reviewers = set(uow.session.scalars(select(HoldReview.reviewer)))
    assert reviewers == {holds.RESUME_RELEASE}
    _exact(ctx)


def test_scheduler_catches_a_resume_whose_re_evaluation_did_not_run(db):
    ctx = _house(db, Clock())
    a = admit_member(ctx, "alpha", collateral=10**6).principal
    admit_member(ctx, "shop", collateral=0)
    members.set_status(ctx, OPERATOR, "alpha", suspended=True, reason="kyc")
    _submit(ctx, a, "o-1", 10)
    with ctx.uow() as uow:  # resumed by a process that stopped before re-evaluating
        uow.session.execute(update(Member).where(Member.name == "alpha").values(status="active"))
        uow.commit()
    Scheduler(ctx, cutoff_seconds=0).tick()
    assert _status(ctx, "o-1") == "accepted"


@pytest.mark.postgres
def test_schedulers_in_several_processes_release_each_hold_once(pg_db):
    clock = Clock()
    ctxs = [_house(pg_db, clock) for _ in range(4)]
    debtors = [admit_member(ctxs[0], f"d{i}", tier="A", collateral=10**6).principal for i in range(3)]
    admit_member(ctxs[0], "shop", collateral=0)
    for k in range(30):
        _submit(ctxs[k % 4], debtors[k % 3], f"h-{k}", 150 + k)
    clock.t += timedelta(seconds=901)
    barrier = threading.Barrier(4)
    counts: list[int] = []

    def run(ctx: ServiceContext) -> None:
        barrier.wait()
        counts.append(holds.release_lapsed(ctx))

    threads = [threading.Thread(target=run, args=(c,)) for c in ctxs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(counts) == 30
    with ctxs[0].uow(read_only=True) as uow:
        assert uow.session.scalar(select(func.count()).select_from(HoldReview)) == 30
    assert {_status(ctxs[0], f"h-{k}") for k in range(30)} == {"accepted"}
    _exact(ctxs[0])
