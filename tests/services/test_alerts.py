"""Alerts on a real ledger (SQLite and PostgreSQL): open, deduplicate, acknowledge, auto-resolve."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from clearing.adapters.db.lease import AdvisoryLease
from clearing.adapters.db.models import Alert, AuditLog, Hold, Member, SettlementTx
from clearing.domain.risk import RiskConfig
from clearing.domain.vocabulary import TxState
from clearing.services import alerts
from clearing.services import submission as osvc
from clearing.services.outbox import Outbox
from clearing.services.scheduler import Scheduler
from clearing.settings import Settings, WriterSettings
from tests.conftest import OPERATOR, admit_member, ledger_house

START = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.t = START

    def __call__(self) -> datetime:
        return self.t


def _house(db, clock: Clock, **settings):
    cfg = Settings(database_url=db.url, **settings)
    return ledger_house(
        db, cfg, clock=clock, risk_config=RiskConfig(single_order_limit={"A": 10**9, "B": 500, "C": 10**9})
    )


def _set(ctx, name: str, **values) -> None:
    with ctx.uow() as uow:
        uow.session.execute(update(Member).where(Member.name == name).values(**values))
        uow.commit()


def _active(ctx, who=OPERATOR, kind=None):
    return [(a.member, a.kind, a.dedup_key, a.state) for a in alerts.list_alerts(ctx, who, kind=kind)]


U = "credit_utilisation_high"  # drawing on a zero line: headroom is negative too (headroom_low beside it)


def _trade_daily(ctx, clock: Clock, debtor, days: int, amount: int) -> None:
    """One obligation of ``amount`` a day for ``days`` days, the clock moving on."""
    for d in range(days):
        ob = osvc.ObligationInput(id=f"d-{d}", debtor=debtor.member_name, creditor="shop", amount=amount)
        [r] = osvc.submit(ctx, debtor, [ob], batch=True)
        assert r.obligation.status == "accepted"
        clock.t += timedelta(days=1)


def test_headroom_alert_opens_is_deduplicated_and_resolves_when_cleared(db):
    clock = Clock()
    ctx = _house(db, clock)
    alpha = admit_member(ctx, "alpha", tier="A", collateral=10_000).principal
    admit_member(ctx, "shop", tier="A", collateral=0)
    _trade_daily(ctx, clock, alpha, 15, 100)  # typical outflow: 100 a day (15 of the 28 days)
    assert alerts.evaluate(ctx) == alerts.EvaluationResult(0, 0, 0)  # headroom 8500
    _set(ctx, "alpha", chain_balance=1_600)  # headroom 1600 − 1500 reserved = 100: one day of outflow, not below
    assert alerts.evaluate(ctx).opened == 0
    _set(ctx, "alpha", chain_balance=1_599)
    assert alerts.evaluate(ctx) == alerts.EvaluationResult(opened=1, resolved=0, updated=0)
    [a] = alerts.list_alerts(ctx, alpha)
    assert (a.member, a.kind, a.state, a.severity) == ("alpha", "headroom_low", "open", "warning")
    assert a.data == {"headroom": "99", "typical_daily_outflow": "100", "headroom_days": "1", "floor": "100"}
    assert alerts.evaluate(ctx) == alerts.EvaluationResult(0, 0, 0)  # same numbers: nothing new
    _set(ctx, "alpha", chain_balance=1_000)
    assert alerts.evaluate(ctx) == alerts.EvaluationResult(opened=0, resolved=0, updated=1)  # one alert, updated
    [a2] = alerts.list_alerts(ctx, OPERATOR)
    assert a2.id == a.id and a2.data["headroom"] == "-500" and a2.severity == "critical"
    _set(ctx, "alpha", chain_balance=10_000)
    assert alerts.evaluate(ctx).resolved == 1
    assert _active(ctx) == []
    [done] = alerts.list_alerts(ctx, OPERATOR, state="resolved")
    assert (done.id, done.resolved_by) == (a.id, "system")


def test_acknowledged_stays_acknowledged_until_resolved_and_the_next_alert_is_new(db):
    clock = Clock()
    ctx = _house(db, clock)
    alpha = admit_member(ctx, "alpha", tier="B", collateral=0).principal
    _set(ctx, "alpha", chain_balance=-100)  # drew 100 on a zero line
    alerts.evaluate(ctx)
    [a] = alerts.list_alerts(ctx, alpha, kind=U)
    assert a.data["utilisation_bps"] is None
    acked = alerts.acknowledge(ctx, alpha, a.id)
    assert (acked.state, acked.acknowledged_by) == ("acknowledged", "member:alpha")
    assert alerts.acknowledge(ctx, OPERATOR, a.id) == acked  # idempotent
    _set(ctx, "alpha", chain_balance=-150)
    assert alerts.evaluate(ctx).updated == 2  # both alerts' numbers changed
    assert alerts.list_alerts(ctx, alpha, kind=U)[0].state == "acknowledged"
    _set(ctx, "alpha", chain_balance=0)
    assert alerts.evaluate(ctx).resolved == 2  # acknowledged ones resolve too
    _set(ctx, "alpha", chain_balance=-1)
    alerts.evaluate(ctx)
    [again] = alerts.list_alerts(ctx, alpha, kind=U)
    assert again.id != a.id and again.state == "open"


def test_credit_utilisation_uses_the_members_line_and_an_override(db):
    clock = Clock()
    ctx = _house(db, clock)
    admit_member(ctx, "alpha", tier="A", collateral=0, credit=1_000)
    _set(ctx, "alpha", credit_line=1_000, chain_credit_limit=1_000, chain_balance=-799)  # tier A alerts at 90%
    alerts.evaluate(ctx)
    assert _active(ctx) == []
    view = alerts.set_thresholds(ctx, OPERATOR, "alpha", {"credit_utilisation_high": 7_990}, reason="watch")
    assert {t.kind: (t.value, t.source) for t in view.thresholds}["credit_utilisation_high"] == (7_990, "override")
    alerts.evaluate(ctx)
    assert _active(ctx) == [("alpha", "credit_utilisation_high", "credit_utilisation_high", "open")]
    view = alerts.set_thresholds(ctx, OPERATOR, "alpha", {"credit_utilisation_high": None}, reason="back to tier")
    assert {t.kind: (t.value, t.source) for t in view.thresholds}["credit_utilisation_high"] == (9_000, "tier")
    assert alerts.evaluate(ctx).resolved == 1
    with ctx.uow(read_only=True) as uow:
        actions = uow.session.scalars(select(AuditLog.action).where(AuditLog.action.like("alert.%"))).all()
    assert actions == ["alert.thresholds", "alert.thresholds"]


def test_a_hold_open_too_long_alerts_per_hold_and_resolves_when_released(db):
    clock = Clock()
    ctx = _house(db, clock)
    beta = admit_member(ctx, "beta", tier="B", collateral=10**6).principal
    admit_member(ctx, "shop", tier="A", collateral=0)
    [r] = osvc.submit(
        ctx, beta, [osvc.ObligationInput(id="big", debtor="beta", creditor="shop", amount=2_000)], batch=True
    )
    assert r.obligation.status == "held"
    with ctx.uow() as uow:  # a hold that waits for a reviewer (it never lapses by itself)
        uow.session.execute(update(Hold).values(release_after=None))
        uow.commit()
    clock.t += timedelta(hours=24) - timedelta(seconds=1)
    alerts.evaluate(ctx)
    assert _active(ctx) == []
    clock.t += timedelta(seconds=1)  # tier B: 24 hours
    alerts.evaluate(ctx)
    [a] = alerts.list_alerts(ctx, beta)
    hold_id = r.obligation.holds[0].id
    assert (a.kind, a.dedup_key, a.data["obligation_id"]) == ("hold_open_too_long", f"hold:{hold_id}", "big")
    with ctx.uow() as uow:
        uow.session.execute(update(Hold).values(status="released"))
        uow.commit()
    assert alerts.evaluate(ctx).resolved == 1


def test_carried_count_and_shortfall_only_when_forecasts_are_given(db):
    clock = Clock()
    ctx = _house(db, clock)
    gamma = admit_member(ctx, "gamma", tier="C", collateral=10**6).principal
    result = alerts.evaluate(ctx, shortfalls={"gamma": clock.t.date() + timedelta(days=14)})
    assert result.opened == 1
    assert _active(ctx, gamma) == [("gamma", "projected_shortfall", "projected_shortfall", "open")]
    assert alerts.evaluate(ctx).resolved == 0  # no forecast given: the rule is skipped, its alert kept
    assert alerts.evaluate(ctx, shortfalls={}).resolved == 1  # forecast without a shortfall: cleared


def test_writer_stuck_is_a_house_level_alert(db):
    clock = Clock()
    ctx = _house(db, clock, writer=WriterSettings(stuck_seconds=0.001))
    alpha = admit_member(ctx, "alpha", tier="A", collateral=10**6).principal  # its admission stays planned
    alerts.evaluate(ctx)
    assert _active(ctx) == [(None, "writer_stuck", "writer_stuck", "open")]
    assert alerts.list_alerts(ctx, alpha) == []  # the operator's, not the member's
    with ctx.uow() as uow:
        uow.session.execute(update(SettlementTx).values(state=TxState.MINED))
        uow.commit()
    assert alerts.evaluate(ctx).resolved == 1


def test_the_ledger_refuses_a_second_open_alert_for_the_same_condition(db):
    clock = Clock()
    ctx = _house(db, clock)
    admit_member(ctx, "alpha", tier="B", collateral=0)
    _set(ctx, "alpha", chain_balance=-1)
    alerts.evaluate(ctx)
    with ctx.uow() as uow:
        a = uow.session.scalars(select(Alert).where(Alert.kind == U)).one()
        twin = {c: getattr(a, c) for c in ("member_id", "scope_id", "kind", "dedup_key", "severity", "message", "data")}
        uow.session.add(Alert(**twin, state="acknowledged", opened_at=clock.t, updated_at=clock.t))
        with pytest.raises(IntegrityError):
            uow.session.flush()
    with ctx.uow() as uow:  # a resolved one beside it is fine
        uow.session.add(Alert(**twin, state="resolved", opened_at=clock.t, updated_at=clock.t))
        uow.commit()


def test_resolving_by_hand_is_audited_and_idempotent(db):
    clock = Clock()
    ctx = _house(db, clock)
    alpha = admit_member(ctx, "alpha", tier="B", collateral=0).principal
    admit_member(ctx, "beta", tier="B", collateral=0)
    _set(ctx, "alpha", chain_balance=-1)
    alerts.evaluate(ctx)
    [a] = alerts.list_alerts(ctx, OPERATOR, kind=U)
    done = alerts.resolve(ctx, OPERATOR, a.id, reason="called them")
    assert (done.state, done.resolved_by, done.resolve_reason) == ("resolved", "operator:bootstrap", "called them")
    assert alerts.resolve(ctx, OPERATOR, a.id, reason="again") == done
    from clearing.errors import Conflict, NotFound

    with pytest.raises(Conflict):
        alerts.acknowledge(ctx, alpha, a.id)
    beta = dataclasses.replace(alpha, member_id=alpha.member_id + 1, member_name="beta")
    with pytest.raises(NotFound):
        alerts.acknowledge(ctx, beta, a.id)
    assert alerts.evaluate(ctx).opened == 1  # still drawn on a zero line: a new alert


@pytest.mark.postgres
def test_the_scheduler_evaluates_only_in_the_chain_writers_process(pg_db):
    clock = Clock()
    ctx = _house(pg_db, clock)
    admit_member(ctx, "alpha", tier="B", collateral=0)
    _set(ctx, "alpha", chain_balance=-1)
    holder = AdvisoryLease(pg_db.url, "alerts-test-writer")
    assert holder.acquire()
    try:
        elsewhere = Outbox(ctx.sessions, None, lease=AdvisoryLease(pg_db.url, "alerts-test-writer", retry_seconds=0))
        other = dataclasses.replace(ctx, outbox=elsewhere)
        Scheduler(other, cutoff_seconds=0).tick()
        assert _active(ctx) == []  # not the writer: nothing evaluated
        holder.release()
        Scheduler(other, cutoff_seconds=0).tick()  # the lease is free: this process takes it and evaluates
        assert _active(ctx, kind=U) == [("alpha", U, U, "open")]
        elsewhere.close()
    finally:
        holder.release()


def test_the_scheduler_does_not_evaluate_when_switched_off(sqlite_db):
    from clearing.settings import AlertSettings

    clock = Clock()
    ctx = _house(sqlite_db, clock, alerts=AlertSettings(evaluate_seconds=0))
    admit_member(ctx, "alpha", tier="B", collateral=0)
    _set(ctx, "alpha", chain_balance=-1)
    Scheduler(ctx, cutoff_seconds=0).tick()
    assert _active(ctx) == []
    on = dataclasses.replace(ctx, settings=Settings(database_url=sqlite_db.url))
    Scheduler(on, cutoff_seconds=0).tick()
    assert _active(ctx, kind=U) == [("alpha", U, U, "open")]


@pytest.mark.postgres
def test_concurrent_evaluations_open_one_alert_per_condition(pg_db):
    import threading

    clock = Clock()
    ctx = _house(pg_db, clock)
    for i in range(5):
        admit_member(ctx, f"m{i}", tier="B", collateral=0)
    with ctx.uow() as uow:
        uow.session.execute(update(Member).values(chain_balance=-1))
        uow.commit()
    results, errors = [], []

    def run() -> None:
        try:
            results.append(alerts.evaluate(ctx))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert sum(r.opened for r in results) == 10  # two kinds for each of five members, opened once
    assert len(alerts.list_alerts(ctx, OPERATOR)) == 10
