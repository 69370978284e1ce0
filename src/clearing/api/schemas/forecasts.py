"""Forecasts and the event calendar: each member's daily flows ahead, its shortfall date and top-up advice,
the pool's needs; the named days forecasts learn from."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from pydantic import BeforeValidator, Field

from clearing.api.schemas.common import AmountOut, OutSchema, Schema

#: A member name or an event name: a slug.
SLUG = r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"


def parse_day(value: object) -> dt.date:
    """A calendar day from its ISO string only (JSON has no date type; a number is no day).

    >>> parse_day("2026-11-11")
    datetime.date(2026, 11, 11)
    """
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise ValueError("date must be a string YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"date {value} is no calendar day: {exc}") from None


class EventIn(Schema):
    date: Annotated[dt.date, BeforeValidator(parse_day)] = Field(
        description="The day (YYYY-MM-DD)", examples=["2026-11-11"]
    )
    name: str = Field(
        min_length=1, max_length=64, pattern=SLUG, description="The event, a slug", examples=["double-11"]
    )


class EventOut(OutSchema):
    id: int
    date: dt.date
    name: str = Field(examples=["double-11"])
    created_at: dt.datetime
    created_by: str = Field(description="The operator that added it", examples=["operator:bootstrap"])


class ForecastRunIn(Schema):
    members: list[Annotated[str, Field(min_length=1, max_length=64, pattern=SLUG)]] | None = Field(
        default=None,
        min_length=1,
        max_length=1000,
        description="Only these members (default: every member, and the pool)",
    )
    horizon: int | None = Field(default=None, ge=7, le=14, description="Days ahead (default: forecast.horizon)")


class TopUpOut(OutSchema):
    amount: AmountOut = Field(description="Collateral to add so the shortfall probability stays at most 5%")
    by: dt.date = Field(description="The latest day to add it by")


class ForecastDayOut(OutSchema):
    date: dt.date
    inflow_p50: AmountOut
    outflow_p50: AmountOut
    net_p05: AmountOut = Field(description="Net flow (in − out): 5th percentile")
    net_p50: AmountOut
    net_p95: AmountOut
    naive_net: AmountOut = Field(description="Baseline: the same weekday's net a week before (seasonal naive)")
    balance_p05: AmountOut | None = Field(default=None, description="Projected balance, 5th percentile")
    balance_p50: AmountOut | None = None
    shortfall_probability: float = Field(
        ge=0, le=1, description="Probability the balance falls below zero on or before this day"
    )


class ForecastOut(OutSchema):
    member: str
    tier: str
    start: dt.date = Field(description="The first day forecast")
    horizon: int
    balance: AmountOut | None = Field(
        default=None, description="What the projection starts from: headroom when the forecast ran"
    )
    shortfall_date: dt.date | None = Field(
        default=None, description="First day the shortfall probability reaches 10% (null: none in the horizon)"
    )
    topup: TopUpOut | None = Field(default=None, description="Top-up advice (null: none needed)")
    days: list[ForecastDayOut]
    model: str = Field(description="The model that produced it (short histories fall back to simpler ones)")
    model_version: str
    data_version: str = Field(description="Hash of the data it was computed from: equal data, equal hash")
    trigger: str = Field(description="schedule, manual or demo", examples=["schedule"])
    computed_at: dt.datetime


class ForecastSummaryOut(OutSchema):
    member: str
    tier: str
    shortfall_date: dt.date | None = None
    topup: TopUpOut | None = None
    start: dt.date
    model: str
    computed_at: dt.datetime


class PoolDayOut(OutSchema):
    date: dt.date
    drawn_p50: AmountOut = Field(description="Credit drawn from the pool, median")
    drawn_p95: AmountOut
    utilisation_p50_bps: int
    utilisation_p95_bps: int


class PoolForecastOut(OutSchema):
    start: dt.date
    horizon: int
    liquidity: AmountOut = Field(description="The pool's lender deposits when the forecast ran")
    needed_95: AmountOut = Field(description="What the pool needs to meet 95% of the horizon's drawings")
    idle: AmountOut = Field(description="Liquidity beyond needed_95 (0 when the pool needs all of it or more)")
    days: list[PoolDayOut]
    model_version: str
    data_version: str
    trigger: str
    computed_at: dt.datetime


class PoolRunOut(OutSchema):
    liquidity: AmountOut
    needed_95: AmountOut
    idle: AmountOut
    stored: bool = Field(description="False: same data as the latest pool forecast, nothing written")


class ForecastRunOut(OutSchema):
    computed_at: dt.datetime
    start: dt.date
    horizon: int
    members: int = Field(description="Members forecast")
    stored: int = Field(description="Forecasts written (the others had the same data as their latest)")
    changed: list[str] = Field(description="Members whose shortfall date or top-up appeared, changed or went")
    shortfalls: dict[str, dt.date | None] = Field(description="Each member's shortfall date")
    topups: dict[str, TopUpOut | None] = Field(description="Each member's top-up advice")
    pool: PoolRunOut | None = Field(default=None, description="The pool's forecast (runs over every member)")
