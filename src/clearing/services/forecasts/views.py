"""What members, operators and auditors read of the stored forecasts: always each one's latest."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from clearing.adapters.db.forecast_models import MemberForecastRow, PoolForecastRow, latest_forecast_ids
from clearing.adapters.db.models import Member
from clearing.errors import NoForecast, NotFound
from clearing.services.context import ServiceContext


@dataclass(frozen=True, slots=True)
class DayView:
    date: date
    inflow_p50: int
    outflow_p50: int
    net_p05: int
    net_p50: int
    net_p95: int
    #: Seasonal-naive baseline: the same weekday's net a week before.
    naive_net: int
    balance_p05: int | None
    balance_p50: int | None
    #: P(balance < 0 on or before this day).
    shortfall_probability: float


@dataclass(frozen=True, slots=True)
class TopUpView:
    amount: int
    #: The latest day to top up by so the shortfall probability stays at most 5%.
    by: date


@dataclass(frozen=True, slots=True)
class MemberForecastView:
    member: str
    tier: str
    start: date
    horizon: int
    model: str
    model_version: str
    data_version: str
    trigger: str
    computed_at: datetime
    balance: int | None
    shortfall_date: date | None
    topup: TopUpView | None
    days: tuple[DayView, ...]


@dataclass(frozen=True, slots=True)
class ForecastSummary:
    member: str
    tier: str
    shortfall_date: date | None
    topup: TopUpView | None
    start: date
    model: str
    computed_at: datetime


@dataclass(frozen=True, slots=True)
class PoolDayView:
    date: date
    drawn_p50: int
    drawn_p95: int
    utilisation_p50_bps: int
    utilisation_p95_bps: int


@dataclass(frozen=True, slots=True)
class PoolForecastView:
    start: date
    horizon: int
    liquidity: int
    needed_95: int
    idle: int
    model_version: str
    data_version: str
    trigger: str
    computed_at: datetime
    days: tuple[PoolDayView, ...]


def _opt(v: Any) -> int | None:
    return None if v is None else int(v)


def _day(d: dict[str, Any]) -> DayView:
    return DayView(
        date=date.fromisoformat(d["date"]),
        inflow_p50=int(d["inflow_p50"]),
        outflow_p50=int(d["outflow_p50"]),
        net_p05=int(d["net_p05"]),
        net_p50=int(d["net_p50"]),
        net_p95=int(d["net_p95"]),
        naive_net=int(d["naive_net"]),
        balance_p05=_opt(d.get("balance_p05")),
        balance_p50=_opt(d.get("balance_p50")),
        shortfall_probability=float(d["shortfall_probability"]),
    )


def _topup(r: MemberForecastRow) -> TopUpView | None:
    return None if r.topup_amount is None or r.topup_by is None else TopUpView(amount=r.topup_amount, by=r.topup_by)


def _view(r: MemberForecastRow, name: str, tier: str) -> MemberForecastView:
    return MemberForecastView(
        member=name,
        tier=tier,
        start=r.start,
        horizon=r.horizon,
        model=r.model,
        model_version=r.model_version,
        data_version=r.data_version,
        trigger=r.trigger,
        computed_at=r.computed_at,
        balance=r.balance,
        shortfall_date=r.shortfall_date,
        topup=_topup(r),
        days=tuple(_day(d) for d in r.days),
    )


def _latest(s: Session, member_id: int | None = None) -> list[tuple[MemberForecastRow, str, str]]:
    newest = latest_forecast_ids(None if member_id is None else [member_id])
    q = (
        select(MemberForecastRow, Member.name, Member.tier)
        .join(Member, Member.id == MemberForecastRow.member_id)
        .where(MemberForecastRow.id.in_(newest))
        .order_by(Member.name)
    )
    return [(r, name, tier) for r, name, tier in s.execute(q)]


def of_member(ctx: ServiceContext, member_id: int) -> MemberForecastView:
    """A member's latest forecast; :class:`NoForecast` if none has run for it yet."""
    with ctx.uow(read_only=True) as uow:
        found = _latest(uow.session, member_id)
        if not found:
            raise NoForecast("no forecast yet for this member: the next scheduled run makes one", field=None)
        return _view(*found[0])


def of_name(ctx: ServiceContext, name: str) -> MemberForecastView:
    """``of_member`` by the member's name (404 ``not-found`` for an unknown member)."""
    with ctx.uow(read_only=True) as uow:
        mid = uow.session.scalar(select(Member.id).where(Member.name == name))
    if mid is None:
        raise NotFound(f"no member {name!r}", field="name", name=name)
    return of_member(ctx, int(mid))


def latest(ctx: ServiceContext, *, short_only: bool = False) -> list[ForecastSummary]:
    """Every member's latest forecast in brief, by name; ``short_only``: those with a shortfall or a top-up."""
    with ctx.uow(read_only=True) as uow:
        out = [
            ForecastSummary(
                member=name,
                tier=tier,
                shortfall_date=r.shortfall_date,
                topup=_topup(r),
                start=r.start,
                model=r.model,
                computed_at=r.computed_at,
            )
            for r, name, tier in _latest(uow.session)
        ]
    return [f for f in out if f.shortfall_date is not None or f.topup is not None] if short_only else out


@dataclass(frozen=True, slots=True)
class ForecastBrief:
    """What the console's members table shows of a member's latest forecast."""

    shortfall_date: date | None
    topup_amount: int | None
    #: The median end-of-day balance, day by day.
    balance_p50: tuple[int, ...]


def latest_briefs(ctx: ServiceContext) -> dict[int, ForecastBrief]:
    """Member id → its latest forecast in brief (one query of the few columns needed)."""
    r = MemberForecastRow
    q = select(r.member_id, r.shortfall_date, r.topup_amount, r.days).where(r.id.in_(latest_forecast_ids()))
    with ctx.uow(read_only=True) as uow:
        rows = uow.session.execute(q).all()
    return {
        int(mid): ForecastBrief(short, topup, tuple(int(d.get("balance_p50") or 0) for d in days))
        for mid, short, topup, days in rows
    }


def current_shortfalls(ctx: ServiceContext, today: date) -> dict[str, date | None]:
    """Member name → its latest forecast's shortfall date, for forecasts still covering ``today`` (a stale
    forecast says nothing: None), and never a day already past."""
    q = (
        select(Member.name, MemberForecastRow.start, MemberForecastRow.horizon, MemberForecastRow.shortfall_date)
        .join(Member, Member.id == MemberForecastRow.member_id)
        .where(MemberForecastRow.id.in_(latest_forecast_ids()))
    )
    with ctx.uow(read_only=True) as uow:
        rows = uow.session.execute(q).all()
    return {
        name: short if short is not None and short >= today and today < start + timedelta(horizon) else None
        for name, start, horizon, short in rows
    }


def pool(ctx: ServiceContext) -> PoolForecastView:
    """The pool's latest forecast; :class:`NoForecast` if no run over every member has stored one."""
    with ctx.uow(read_only=True) as uow:
        r = uow.session.scalars(select(PoolForecastRow).order_by(PoolForecastRow.id.desc()).limit(1)).first()
        if r is None:
            raise NoForecast("no pool forecast yet: a run over every member makes one", field=None)
        days = tuple(
            PoolDayView(
                date=date.fromisoformat(d["date"]),
                drawn_p50=int(d["drawn_p50"]),
                drawn_p95=int(d["drawn_p95"]),
                utilisation_p50_bps=int(d["utilisation_p50_bps"]),
                utilisation_p95_bps=int(d["utilisation_p95_bps"]),
            )
            for d in r.days
        )
        return PoolForecastView(
            start=r.start,
            horizon=r.horizon,
            liquidity=r.liquidity,
            needed_95=r.needed_95,
            idle=r.idle,
            model_version=r.model_version,
            data_version=r.data_version,
            trigger=r.trigger,
            computed_at=r.computed_at,
            days=days,
        )
