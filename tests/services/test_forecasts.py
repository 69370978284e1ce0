"""Forecasts in the service: runs read the ledger's flows, balances and the calendar, store a forecast per
member with its model and data versions, and say whose shortfall or top-up changed. Real ledgers (SQLite
and PostgreSQL), a house clock the test moves."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from clearing.adapters.db import lease as leases
from clearing.adapters.db.forecast_models import MemberForecastRow, PoolForecastRow
from clearing.domain.forecast import MODEL_VERSION
from clearing.errors import NoForecast, NotFound, ValidationError
from clearing.services import calendar, forecasts
from clearing.services.outbox import Outbox
from clearing.services.scheduler import Scheduler
from clearing.settings import ForecastSettings, Settings
from tests.conftest import OPERATOR, admit_member, give_line, ledger_house, record_trade

TOK = 10**6
NOW = datetime(2026, 6, 15, 9, 0, tzinfo=UTC)  # a Monday
HISTORY = 56


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _house(db, clock: Clock, **settings_kw):
    """alpha pays beta about 1,000 a day and holds 5,000: it drains within a week. gamma trades evenly with
    beta, holds plenty and has a credit line."""
    ctx = ledger_house(db, clock=clock)
    clock.now = NOW - timedelta(days=HISTORY + 1)
    admit_member(ctx, "alpha", collateral=5_000 * TOK)
    admit_member(ctx, "beta", collateral=10**12 * TOK)
    admit_member(ctx, "gamma", collateral=10**12 * TOK, credit=5_000 * TOK)
    give_line(ctx, "gamma", 5_000 * TOK)  # the one that may draw on the pool
    trades = []
    for k in range(HISTORY):
        at = NOW - timedelta(days=HISTORY - k, hours=3)
        trades.append(("alpha", "beta", (950 + 37 * (k % 5)) * TOK, at))
        trades.append(("gamma", "beta", (400 + 11 * (k % 3)) * TOK, at))
        trades.append(("beta", "gamma", (400 + 13 * (k % 4)) * TOK, at))
    record_trade(ctx, trades)
    clock.now = NOW
    return ctx


def _rows(ctx) -> list:
    """The stored member forecasts, oldest first, as plain rows."""
    t = MemberForecastRow.__table__
    with ctx.uow(read_only=True) as uow:
        return list(uow.session.execute(select(t).order_by(t.c.id)))


def test_a_draining_member_gets_a_shortfall_date_and_a_topup_and_each_run_is_stored_once(db):
    clock = Clock(NOW)
    ctx = _house(db, clock)
    r = forecasts.run(ctx, trigger="manual")
    assert (r.members, r.stored, r.start, r.horizon) == (3, 3, NOW.date(), 14)
    short = r.shortfalls["alpha"]
    assert short is not None and NOW.date() <= short <= NOW.date() + timedelta(days=7)
    top = r.topups["alpha"]
    assert top is not None and top.amount > 0 and top.by < short
    assert r.shortfalls["gamma"] is None and r.topups["gamma"] is None
    assert r.changed == ("alpha",)  # its shortfall appeared; nobody else has one
    assert r.pool is not None and r.pool.stored and r.pool.liquidity == 0  # no chain: no pool deposits
    rows = _rows(ctx)
    assert [(row.trigger, row.model_version, row.horizon) for row in rows] == [("manual", MODEL_VERSION, 14)] * 3
    assert all(len(row.data_version) == 16 and len(row.days) == 14 for row in rows)
    assert rows[0].balance == 5_000 * TOK and rows[0].topup_amount == top.amount

    again = forecasts.run(ctx, trigger="schedule")  # the same data: same numbers, nothing stored
    assert again.stored == 0 and again.changed == () and not again.pool.stored
    assert again.shortfalls == r.shortfalls and again.topups == r.topups
    assert len(_rows(ctx)) == 3

    calendar.add_event(ctx, OPERATOR, NOW.date() + timedelta(days=3), "payday")  # new data for everyone
    third = forecasts.run(ctx, trigger="manual")
    assert third.stored == 3 and len({row.data_version for row in _rows(ctx)}) == 6


def test_reads_take_each_members_latest(db):
    clock = Clock(NOW)
    ctx = _house(db, clock)
    with pytest.raises(NoForecast):
        forecasts.of_name(ctx, "alpha")
    with pytest.raises(NoForecast):
        forecasts.pool(ctx)
    forecasts.run(ctx, trigger="manual")
    clock.now = NOW + timedelta(days=1)  # a day on: a new start, new rows
    forecasts.run(ctx, trigger="schedule")
    v = forecasts.of_name(ctx, "alpha")
    assert (v.member, v.start, v.trigger, v.model_version) == (
        "alpha",
        NOW.date() + timedelta(days=1),
        "schedule",
        MODEL_VERSION,
    )
    assert v.days[0].date == v.start and v.shortfall_date is not None and v.topup is not None
    assert v.days[-1].shortfall_probability >= v.days[0].shortfall_probability
    summary = forecasts.latest(ctx)
    assert [s.member for s in summary] == ["alpha", "beta", "gamma"]
    assert [s.member for s in forecasts.latest(ctx, short_only=True)] == ["alpha"]
    pool = forecasts.pool(ctx)
    assert pool.start == v.start and len(pool.days) == 14 and pool.idle == max(pool.liquidity - pool.needed_95, 0)
    with pytest.raises(NotFound):
        forecasts.of_name(ctx, "nobody")


def test_a_run_over_some_members_leaves_the_pool_and_the_others_alone(db):
    ctx = _house(db, Clock(NOW))
    r = forecasts.run(ctx, trigger="manual", members=["gamma"], horizon=7)
    assert (r.members, r.stored, r.pool, set(r.shortfalls)) == (1, 1, None, {"gamma"})
    assert [(row.horizon, len(row.days)) for row in _rows(ctx)] == [(7, 7)]
    with pytest.raises(NotFound) as e:
        forecasts.run(ctx, trigger="manual", members=["gamma", "nobody"])
    assert e.value.field == "members"
    with pytest.raises(ValidationError):
        forecasts.run(ctx, trigger="manual", horizon=40)
    with pytest.raises(ValidationError):
        forecasts.run(ctx, trigger="whenever")


def test_a_member_admitted_today_is_forecast_from_no_trade(db):
    clock = Clock(NOW)
    ctx = ledger_house(db, clock=clock)
    admit_member(ctx, "fresh", collateral=10 * TOK)
    r = forecasts.run(ctx, trigger="manual")
    assert r.members == 1 and r.shortfalls == {"fresh": None} and r.topups == {"fresh": None}


def test_the_scheduler_forecasts_ledger_only_houses_when_due(sqlite_db):
    clock = Clock(NOW)
    ctx = _house(sqlite_db, clock)
    scheduler = Scheduler(ctx, cutoff_seconds=0)
    scheduler.tick()
    assert [row.trigger for row in _rows(ctx)] == ["schedule"] * 3
    clock.now = NOW + timedelta(days=1)
    scheduler.tick()  # not due again for forecast.schedule_seconds (a day of the process's own time)
    assert len(_rows(ctx)) == 3


@pytest.mark.postgres
def test_only_the_chain_writers_process_forecasts_on_schedule(pg_db):
    ctx = _house(pg_db, Clock(NOW))
    name = "clearing.test-writer"
    holder = leases.for_database(pg_db.url, name)
    mine = leases.for_database(pg_db.url, name, retry_seconds=0)
    other = dataclasses.replace(ctx, outbox=Outbox(ctx.sessions, None, lease=mine))
    try:
        assert holder.acquire()  # another process is the writer
        Scheduler(other, cutoff_seconds=0).tick()
        assert _rows(ctx) == []
        holder.release()
        Scheduler(other, cutoff_seconds=0).tick()  # the lease is free: this process writes, and forecasts
        assert mine.held and len(_rows(ctx)) == 3
        with ctx.uow(read_only=True) as uow:
            assert uow.session.scalar(select(func.count()).select_from(PoolForecastRow)) == 1
    finally:
        holder.release()
        mine.release()


def test_a_schedule_of_zero_never_runs(sqlite_db):
    clock = Clock(NOW)
    settings = Settings(database_url=sqlite_db.url, forecast=ForecastSettings(schedule_seconds=0))
    ctx = ledger_house(sqlite_db, settings, clock=clock)
    admit_member(ctx, "alpha", collateral=1)
    Scheduler(ctx, cutoff_seconds=0).tick()
    assert _rows(ctx) == []


def test_the_pool_needs_what_members_with_lines_will_draw(db):
    ctx = _house(db, Clock(NOW))
    give_line(ctx, "alpha", 20_000 * TOK)  # alpha's balance goes below zero in about five days: it draws
    forecasts.run(ctx, trigger="manual")
    pool = forecasts.pool(ctx)
    assert 0 < pool.needed_95 <= 25_000 * TOK  # at most the two lines
    assert pool.days[0].drawn_p50 == 0 < pool.days[-1].drawn_p50 <= pool.days[-1].drawn_p95
    assert pool.liquidity == 0 and pool.idle == 0 and pool.days[-1].utilisation_p95_bps == 10_000  # no pool here
    alpha = forecasts.of_name(ctx, "alpha")
    assert alpha.balance == 25_000 * TOK  # the projection starts from headroom: collateral + unused line
