"""Each member's daily trade flows, read from the ledger with one set-based ``GROUP BY``: what forecasts learn.

A member's **inflow** on a day is the sum of the obligations it is creditor of, its **outflow** the sum
of those it is debtor of, by the UTC date of the obligation's ``created_at`` (the house clock's date).
Every obligation the house took on and has not annulled counts, settled or not yet
(:data:`TRADE_STATUSES`): a forecast made mid-cycle must see the open cycle's trade. Left out:
``held`` (a hold not released yet: review may reject it), ``rejected``, ``cancelled`` (annulled by an
upheld dispute), ``refunded`` (its escrow went back to the debtor) and ``queued_beyond_headroom`` (not
taken on; it counts once accepted, on its own creation date). The credit score's volume
(``credit_inputs.py``) counts only ``settled`` ones: it rates what was paid, this forecasts what flows.

PostgreSQL sums the exact ``NUMERIC`` amounts; SQLite keeps amounts as text (``types.py``), so there
the same ``GROUP BY`` concatenates each group's amounts and Python sums them exactly.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import Select, func, literal, select, union_all
from sqlalchemy.orm import Session

from clearing.adapters.db.models import Obligation
from clearing.domain.vocabulary import ObligationStatus as S

__all__ = ["TRADE_STATUSES", "daily_flows", "flows_statement"]

#: Statuses whose obligations are trade that happened (or is happening) for the forecast.
TRADE_STATUSES = frozenset({S.ACCEPTED, S.ESCROW, S.NETTED, S.COMMITTED, S.SETTLED, S.CARRIED, S.DISPUTED})

#: day -> (inflow, outflow), token units.
DayFlows = dict[date, tuple[int, int]]


def _midnight(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=UTC)


def flows_statement(dialect: str, start: date, end: date, member_ids: Collection[int] | None = None) -> Select[Any]:
    """The one statement: (member id, day, inflows, outflows) per member and day in ``[start, end)``.

    Each obligation is two legs (its creditor's inflow, its debtor's outflow) in a ``UNION ALL``, then
    grouped. PostgreSQL returns exact sums; SQLite returns each group's amounts comma-separated.
    """
    pg = dialect == "postgresql"
    day = func.date(func.timezone("UTC", Obligation.created_at)) if pg else func.date(Obligation.created_at)
    where = [
        Obligation.status.in_(sorted(TRADE_STATUSES)),
        Obligation.created_at >= _midnight(start),
        Obligation.created_at < _midnight(end),
    ]

    def leg(member: Any, inflow: int) -> Select[Any]:
        q = select(member.label("member_id"), day.label("day"), literal(inflow).label("inflow"), Obligation.amount)
        return q.where(*where, member.in_(list(member_ids))) if member_ids is not None else q.where(*where)

    legs = union_all(leg(Obligation.creditor_id, 1), leg(Obligation.debtor_id, 0)).subquery("legs")
    total = func.sum if pg else func.group_concat
    return (
        select(
            legs.c.member_id,
            legs.c.day,
            total(legs.c.amount).filter(legs.c.inflow == 1),
            total(legs.c.amount).filter(legs.c.inflow == 0),
        )
        .group_by(legs.c.member_id, legs.c.day)
        .order_by(legs.c.member_id, legs.c.day)
    )


def _exact(value: Any) -> int:
    """A group's sum: a number (PostgreSQL), comma-separated decimal text (SQLite), or NULL (no leg)."""
    if value is None:
        return 0
    if isinstance(value, str):
        return sum(int(v) for v in value.split(","))
    return int(value)


def daily_flows(
    session: Session, *, start: date, end: date, member_ids: Collection[int] | None = None
) -> dict[int, DayFlows]:
    """Per member id: its days in ``[start, end)`` that had trade, each with (inflow, outflow).

    Days without trade are absent (zero flows); members without trade in the window are absent.
    """
    if end < start:
        raise ValueError(f"end ({end}) is before start ({start})")
    if member_ids is not None and not member_ids:
        return {}
    stmt = flows_statement(session.get_bind().dialect.name, start, end, member_ids)
    out: dict[int, DayFlows] = {}
    for member, day, inflow, outflow in session.execute(stmt):
        d = day if isinstance(day, date) else date.fromisoformat(str(day))
        out.setdefault(int(member), {})[d] = (_exact(inflow), _exact(outflow))
    return out
