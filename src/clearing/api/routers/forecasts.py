"""Forecasts: a member's own (daily flows ahead, balance projection, shortfall date, top-up advice); every
member's and the pool's (operators and auditors); runs on demand (operators)."""

from __future__ import annotations

from fastapi import APIRouter, Query

from clearing.api.deps import Auditor, ContextDep, CurrentMember, Operator
from clearing.api.schemas.common import problem_responses
from clearing.api.schemas.forecasts import (
    ForecastOut,
    ForecastRunIn,
    ForecastRunOut,
    ForecastSummaryOut,
    PoolForecastOut,
    PoolRunOut,
    TopUpOut,
)
from clearing.api.schemas.text import MemberNameParam
from clearing.services import alerts, forecasts

router = APIRouter(tags=["forecasts"])

_FORECAST = (
    "The latest stored forecast: for each day ahead the inflow and outflow medians, the net flow's 5th, 50th "
    "and 95th percentiles with a seasonal-naive baseline, the projected balance (from headroom when it ran) and "
    "the probability it has fallen below zero by then; the first day that probability reaches 10% "
    "(shortfall_date) and a top-up that keeps it at most 5% (amount, latest day). 404 no-forecast before "
    "the first run."
)


@router.get(
    "/members/me/forecast",
    response_model=ForecastOut,
    summary="Your flow forecast, shortfall date and top-up advice",
    description=_FORECAST,
    responses=problem_responses(401, 403, 404),
)
def my_forecast(ctx: ContextDep, me: CurrentMember) -> ForecastOut:
    return ForecastOut.model_validate(forecasts.of_member(ctx, me.member_id))  # type: ignore[arg-type]


@router.get(
    "/members/{name}/forecast",
    response_model=ForecastOut,
    summary="A member's flow forecast (operator, auditor)",
    description=_FORECAST,
    responses=problem_responses(401, 403, 404),
)
def member_forecast(name: MemberNameParam, ctx: ContextDep, who: Auditor) -> ForecastOut:
    return ForecastOut.model_validate(forecasts.of_name(ctx, name))


@router.get(
    "/forecasts",
    response_model=list[ForecastSummaryOut],
    summary="Every member's latest forecast in brief (operator, auditor)",
    responses=problem_responses(401, 403),
)
def every_forecast(
    ctx: ContextDep,
    who: Auditor,
    short_only: bool = Query(False, description="Only members with a shortfall date or a top-up advised"),
) -> list[ForecastSummaryOut]:
    return [ForecastSummaryOut.model_validate(f) for f in forecasts.latest(ctx, short_only=short_only)]


@router.get(
    "/forecasts/pool",
    response_model=PoolForecastOut,
    summary="The pool's forecast: utilisation ahead, liquidity needed at 95%, idle liquidity (operator, auditor)",
    responses=problem_responses(401, 403, 404),
)
def pool_forecast(ctx: ContextDep, who: Auditor) -> PoolForecastOut:
    return PoolForecastOut.model_validate(forecasts.pool(ctx))


@router.post(
    "/forecasts/run",
    response_model=ForecastRunOut,
    summary="Forecast now (operator): every member and the pool, or the members named",
    description="Stores a forecast per member whose data changed since its latest (a rerun on the same data "
    "writes nothing) and answers each member's shortfall date and top-up advice, and which of them changed. "
    "The alert rules are evaluated right after, so a new projected shortfall alerts (and notifies) at once. "
    "The scheduler runs both every CLEARING_FORECAST__SCHEDULE_SECONDS too.",
    responses=problem_responses(401, 403, 404, 422),
)
def run_forecast(ctx: ContextDep, op: Operator, body: ForecastRunIn | None = None) -> ForecastRunOut:
    r = forecasts.run(
        ctx,
        trigger="manual",
        members=body.members if body is not None else None,
        horizon=body.horizon if body is not None else None,
    )
    alerts.run(ctx, op)
    return ForecastRunOut(
        computed_at=r.computed_at,
        start=r.start,
        horizon=r.horizon,
        members=r.members,
        stored=r.stored,
        changed=list(r.changed),
        shortfalls=dict(r.shortfalls),
        topups={n: None if t is None else TopUpOut(amount=t.amount, by=t.by) for n, t in r.topups.items()},
        pool=None if r.pool is None else PoolRunOut.model_validate(r.pool),
    )
