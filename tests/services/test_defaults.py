"""Issue 11: defaults declared automatically after the grace period, by the scheduler's scan, on a real chain.

The house runs on a clock the test moves (``build_service(clock=...)``): drawings of credit get their
deadline from it, cut-offs their time, and the scan compares both with it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from clearing.adapters.chain import backends
from clearing.adapters.chain.deploy import Contracts, deploy
from clearing.adapters.db.models import CreditDraw, Member, WebhookMessage
from clearing.bootstrap import build_service
from clearing.dev import admit_funded_member
from clearing.domain.vocabulary import ObligationStatus
from clearing.services import alerts, audit, chain_sync, credit, defaults
from clearing.services.scheduler import Scheduler
from clearing.services.submission import ObligationInput, get_any, submit
from clearing.services.webhooks import endpoints
from clearing.settings import AlertSettings, DefaultSettings, ForecastSettings, Settings
from tests.conftest import OPERATOR


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clocked(db):
    """A house on a real chain with a funded pool, its clock in the test's hands, every member B-tier provisional."""
    chain = backends.embedded()
    contracts = Contracts.attach(chain, deploy(chain, network="embedded"))
    clock = Clock()
    settings = Settings(
        database_url=db.url,
        defaults=DefaultSettings(grace_days=3, scan_seconds=3600),
        forecast=ForecastSettings(schedule_seconds=0),
        alerts=AlertSettings(evaluate_seconds=0),
    )
    ctx = build_service(settings, engine=db.engine, contracts=contracts, clock=clock)
    lender = chain.accounts[9]
    contracts.token.mint(lender.address, 10**12)
    contracts.token.approve(contracts.house.address, 10**12, sender=lender)
    contracts.house.pool_deposit(10**12, sender=lender)
    return ctx, contracts, clock


def _member(ctx, contracts, index: int, name: str, collateral: int, line: int = 0):
    acct = contracts.chain.accounts[index]
    return admit_funded_member(ctx, contracts, OPERATOR, acct, name=name, collateral=collateral, credit_line=line)


def test_a_drawing_unpaid_past_its_deadline_and_the_grace_period_is_declared_by_the_scheduler(clocked):
    ctx, c, clock = clocked
    endpoints.register(ctx, OPERATOR, url="https://93.184.216.34/hooks", events=["member.defaulted"])
    gem = _member(ctx, c, 1, "gemshop", 1_000_000, line=500_000)
    _member(ctx, c, 2, "beta", 1_000_000)
    chain_sync.sync(ctx.sessions, c)
    credit.rescore(ctx, trigger="manual")  # the provisional line on chain, now that collateral is posted
    chain_sync.sync(ctx.sessions, c)
    submit(ctx, gem, [ObligationInput("g-1", "gemshop", "beta", 1_200_000)], batch=False)
    ctx.cycles.settle()  # rescores after it: a drawing of 200,000, due in tier B's 7 days
    chain_sync.sync(ctx.sessions, c)
    credit.rescore(ctx, trigger="manual")
    with ctx.uow(read_only=True) as uow:
        [(draw_id, amount, status, due)] = uow.session.execute(
            select(CreditDraw.id, CreditDraw.amount, CreditDraw.status, CreditDraw.due_at)
        ).all()
    assert (amount, status, due) == (200_000, "open", clock.now + timedelta(days=7))

    clock.now = due + timedelta(days=3) - timedelta(minutes=1)  # inside the grace period: nothing yet
    assert defaults.scan(ctx) == []
    clock.now += timedelta(minutes=2)
    scheduler = Scheduler(ctx, cutoff_seconds=0)
    scheduler.tick()  # sync, rescoring, then the scan
    [d] = defaults.list_defaults(ctx)
    assert (d.member, d.trigger, d.declared_by, d.state) == (
        "gemshop",
        "repayment_deadline",
        defaults.SYSTEM,
        "allocated",
    )
    assert f"drawing {draw_id}" in d.reason and d.declared_at == clock.now
    debt = -d.balance_at_declaration
    assert debt >= 200_000 and d.steps == {"collateral": 0, "pledged_assets": 0, "receivables": 0, "pool_lenders": debt}
    assert (d.loss, d.written_down) == (debt, debt)
    state = c.house.member(gem.member_address)
    assert (state.defaulted, state.balance, state.owed_to_pool) == (True, 0, debt)
    # The drawing is closed by the declaration, which is what the score counts; tier C, no line.
    with ctx.uow(read_only=True) as uow:
        s = uow.session
        assert s.get(CreditDraw, draw_id).status == "defaulted"
        m = s.scalars(select(Member).where(Member.name == "gemshop")).one()
        assert (m.status, m.tier, m.credit_line) == ("suspended", "C", 0)
        [body] = s.scalars(select(WebhookMessage.body).where(WebhookMessage.event_type == "member.defaulted")).all()
        assert json.loads(body)["data"]["trigger"] == "repayment_deadline"
    view = credit.credit_of(ctx, gem.member_id)
    assert view.tier == "C" and view.reasons[0].startswith("in default")
    assert [f.value for f in view.factors if f.name == "defaults"] == [1]
    # The scheduler's next scans find nothing new; the alerts hold while it is in default.
    assert defaults.scan(ctx) == []
    alerts.evaluate(ctx)
    assert {a.dedup_key for a in alerts.list_alerts(ctx, OPERATOR, kind="member_defaulted")} == {
        "member_defaulted",
        "default:gemshop",
    }
    assert audit.verify(ctx.sessions, c).ok


def test_a_debit_carried_past_the_grace_period_is_a_default(clocked):
    ctx, c, clock = clocked
    thin = _member(ctx, c, 1, "thin", 100)
    _member(ctx, c, 2, "beta", 1_000)
    _member(ctx, c, 3, "gamma", 1_000)
    chain_sync.sync(ctx.sessions, c)
    submit(ctx, thin, [ObligationInput("t-1", "thin", "beta", 500)], batch=False)
    assert get_any(ctx, "t-1").status == ObligationStatus.QUEUED_BEYOND_HEADROOM
    cut = clock.now = clock.now + timedelta(hours=1)
    ctx.cycles.settle()
    assert get_any(ctx, "t-1").status == ObligationStatus.CARRIED
    # A suspended member's carried debits are the house's doing, not a default.
    clock.now = cut + timedelta(days=3, minutes=1)
    with ctx.uow() as uow:
        uow.session.execute(Member.__table__.update().where(Member.name == "thin").values(status="suspended"))
        uow.commit()
    assert defaults.scan(ctx) == []
    with ctx.uow() as uow:
        uow.session.execute(Member.__table__.update().where(Member.name == "thin").values(status="active"))
        uow.commit()
    [d] = defaults.scan(ctx)
    assert (d.member, d.trigger, d.state) == ("thin", "cycle_debit", "allocated")
    assert "carried since cycle" in d.reason and d.balance_at_declaration == 100
    # Nothing was owed to the pool: no loss, nothing written down (no allocation needed on chain).
    assert d.written_down is None and c.house.member(thin.member_address).defaulted
    assert audit.verify(ctx.sessions, c).ok
    # Repaid already (its balance never went below zero): cured at once, and active again.
    cured = defaults.cure(ctx, "thin", "settled by phone", "operator")
    assert cured.state == "cured" and not c.house.member(thin.member_address).suspended
