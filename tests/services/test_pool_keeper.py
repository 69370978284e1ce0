"""The pool keeper, as the scheduler runs it in the chain writer's process: interest charged to every member
owing some, the withdrawal queue paid, each through one outbox row sent once."""

from __future__ import annotations

from sqlalchemy import select

from clearing.adapters.chain import backends
from clearing.adapters.db.models import SettlementTx
from clearing.domain.vocabulary import TxState
from clearing.services import chain_sync, pool_keeper
from clearing.services.pool_calls import POOL_ACCRUE, POOL_PROCESS
from clearing.services.scheduler import Scheduler
from clearing.settings import AlertSettings, CreditSettings, DefaultSettings, ForecastSettings, PoolSettings, Settings
from tests.services.conftest import build_house

DAY = 24 * 3600


def _settings(db_url: str, keeper_seconds: int) -> Settings:
    """Only the keeper runs on the scheduler's ticks (no rescoring, forecasts, alerts or default scans)."""
    return Settings(
        database_url=db_url,
        pool=PoolSettings(keeper_seconds=keeper_seconds),
        credit=CreditSettings(rescore_seconds=0),
        forecast=ForecastSettings(schedule_seconds=0),
        alerts=AlertSettings(evaluate_seconds=0),
        defaults=DefaultSettings(scan_seconds=0),
    )


def _rows(ctx) -> list[tuple[str, str]]:
    with ctx.uow(read_only=True) as uow:
        kinds = (POOL_ACCRUE, POOL_PROCESS)
        q = select(SettlementTx.kind, SettlementTx.state).where(SettlementTx.kind.in_(kinds)).order_by(SettlementTx.id)
        return [tuple(r) for r in uow.session.execute(q)]


def _drawing_house(db_url: str, keeper_seconds: int):
    """alpha and beta; alpha owes beta 40,000 on credit (a cycle settled on chain); the pool's one lender
    (dev account 9) has 10^12 lent."""
    chain = backends.embedded()
    h = build_house(db_url, chain, [("alpha", "A", 0, 0), ("beta", "A", 0, 0)], _settings(db_url, keeper_seconds))
    c = h.contracts
    c.house.set_interest_rate_model(300, 1_700)  # the service's default; test chains deploy without one
    alpha, beta = h.keys["alpha"].address, h.keys["beta"].address
    c.house.set_credit_limit(alpha, 50_000)
    c.house.settle_cycle(1, b"\x01" * 32, 1, 40_000, {alpha: -40_000, beta: 40_000})
    chain_sync.sync(h.ctx.sessions, c)
    return h, alpha


def test_the_scheduler_charges_interest_and_pays_the_queue(db_url):
    h, alpha = _drawing_house(db_url, keeper_seconds=3600)
    c = h.contracts
    lender = c.chain.accounts[9]
    queued = c.house.shares_of(lender.address) // 4
    c.house.request_withdrawal(queued, sender=lender)
    c.chain.advance_time(30 * DAY)
    owed = c.house.interest_owed_of(alpha)
    assert owed > 0 and c.house.pool_total() > c.house.credit_drawn()
    before = c.token.balance_of(lender.address)

    scheduler = Scheduler(h.ctx, cutoff_seconds=0)
    scheduler.tick()
    assert _rows(h.ctx) == [(POOL_ACCRUE, TxState.MINED), (POOL_PROCESS, TxState.MINED)]
    assert c.house.interest_owed_of(alpha) < owed and c.house.balance_of(alpha) <= -40_000 - owed
    assert c.house.queued_shares() == 0 and c.token.balance_of(lender.address) > before
    scheduler.tick()  # within keeper_seconds: nothing new
    assert len(_rows(h.ctx)) == 2


def test_the_keeper_plans_nothing_when_nothing_is_owed_or_queued(db_url):
    h, alpha = _drawing_house(db_url, keeper_seconds=0)
    c = h.contracts
    Scheduler(h.ctx, cutoff_seconds=0).tick()  # keeper_seconds 0: off
    assert _rows(h.ctx) == []
    c.house.set_interest_rate_model(0, 0)  # nothing accrues from here on
    c.house.accrue_interest([alpha])  # and someone else charged what had: nothing owed now
    run = pool_keeper.run(h.ctx)
    assert (run.charged, run.accrue_rows, run.process_row, run.skipped) == ((), (), None, None)
    c.house.pause()
    assert pool_keeper.run(h.ctx).skipped == "paused"
    assert _rows(h.ctx) == []
