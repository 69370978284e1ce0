"""The forecasting tables: the operator's event calendar, and every stored member and pool forecast.

A module of its own (same ``Base`` as ``models.py``) so the forecasting tables stay together. Forecasts
are history: a run adds rows, never updates them; reads take each member's newest (``member_id, id``).
Amounts inside ``days`` are decimal strings, as everywhere in JSON.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, ScalarSelect, String, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, mapped_column

from clearing.adapters.db.models import Base, BigId, utcnow
from clearing.adapters.db.types import Amount, UtcDateTime

__all__ = ["CalendarEvent", "MemberForecastRow", "PoolForecastRow"]


class CalendarEvent(Base):
    """A named day the operator expects trade to differ on (``double-11``, ``payday``): forecasts learn it."""

    __tablename__ = "calendar_events"
    __table_args__ = (UniqueConstraint("day", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    #: A slug (``[a-z0-9-]``): the same name on several days is one kind of event to the model.
    name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    #: The operator principal that added it, as the audit log names it.
    created_by: Mapped[str] = mapped_column(String(128))


class MemberForecastRow(Base):
    """One member's forecast as a run computed it, with what produced it (model, versions, trigger)."""

    __tablename__ = "member_forecasts"
    __table_args__ = (Index(None, "member_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    computed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    #: The first day forecast (the house clock's date, UTC, when it ran).
    start: Mapped[date] = mapped_column(Date)
    horizon: Mapped[int] = mapped_column(Integer)
    #: The model that produced it (the domain falls back to simpler ones for short histories).
    model: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[str] = mapped_column(String(32))
    #: Short hash of exactly what went in (flows, events, balance, start, horizon): equal data, equal hash.
    data_version: Mapped[str] = mapped_column(String(32))
    #: What ran it: schedule, manual (``POST /forecasts/run``), demo.
    trigger: Mapped[str] = mapped_column(String(16))
    shortfall_date: Mapped[date | None] = mapped_column(Date)
    topup_amount: Mapped[int | None] = mapped_column(Amount)
    topup_by: Mapped[date | None] = mapped_column(Date)
    #: The balance projected from: headroom (free collateral + unused credit − reserved net debit).
    balance: Mapped[int | None] = mapped_column(Amount)
    #: [{"date", "inflow_p50", ..., "shortfall_probability"}], amounts as decimal strings.
    days: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class PoolForecastRow(Base):
    """The credit pool's forecast: how much of it members will draw, what it needs at 95%, what sits idle."""

    __tablename__ = "pool_forecasts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    start: Mapped[date] = mapped_column(Date)
    horizon: Mapped[int] = mapped_column(Integer)
    liquidity: Mapped[int] = mapped_column(Amount)
    needed_95: Mapped[int] = mapped_column(Amount)
    #: Liquidity beyond what the pool needs at 95% (0 when it needs all of it or more).
    idle: Mapped[int] = mapped_column(Amount)
    model_version: Mapped[str] = mapped_column(String(32))
    data_version: Mapped[str] = mapped_column(String(32))
    trigger: Mapped[str] = mapped_column(String(16))
    #: [{"date", "drawn_p50", "drawn_p95", "utilisation_p50_bps", "utilisation_p95_bps"}].
    days: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


def latest_forecast_ids(member_ids: Collection[int] | None = None) -> ScalarSelect[Any]:
    """The id of each member's newest stored forecast (of every member, or of those given), as a subquery
    for ``MemberForecastRow.id.in_(...)``: what every read of "the latest forecast" filters by."""
    newest = select(func.max(MemberForecastRow.id)).group_by(MemberForecastRow.member_id)
    if member_ids is not None:
        newest = newest.where(MemberForecastRow.member_id.in_(member_ids))
    return newest.scalar_subquery()
