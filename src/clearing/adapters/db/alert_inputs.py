"""What the alert rules read from the ledger, set-based: a few grouped queries for every member at once.

- **daily outflows**: per debtor, the value of its obligations created in each of the ``days`` 24-hour
  windows ending at ``as_of`` (oldest first, days without any are 0); everything it took on counts,
  whatever became of it, except obligations rejected, cancelled or refunded (no money left it);
- **carried**: per debtor, how many obligations are carried over or queued beyond headroom now;
- **open holds**: every open hold with its obligation's debtor, id and the hold's age.

Amounts are summed by PostgreSQL, and in Python on SQLite (which stores them as text, see ``types.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from clearing.adapters.db.models import Hold, Obligation, WebhookEndpoint
from clearing.domain.vocabulary import HoldStatus
from clearing.domain.vocabulary import ObligationStatus as S

__all__ = ["CARRIED_STATUSES", "NOT_OUTFLOW", "HeldRow", "carried_counts", "daily_outflows", "open_holds"]

#: Statuses of obligations that never took money from their debtor.
NOT_OUTFLOW = (S.REJECTED, S.CANCELLED, S.REFUNDED)
#: Obligations waiting for headroom: carried over from a cycle, or queued at submission.
CARRIED_STATUSES = (S.CARRIED, S.QUEUED_BEYOND_HEADROOM)
_DAY = 86_400


def daily_outflows(session: Session, as_of: datetime, days: int) -> dict[int, list[int]]:
    """Debtor id → its outflow in each of the ``days`` days ending at ``as_of`` (only debtors with any)."""
    start = as_of - timedelta(days=days)
    o = Obligation
    where = (o.created_at >= start, o.created_at < as_of, o.status.not_in(NOT_OUTFLOW))
    out: dict[int, list[int]] = {}
    if session.get_bind().dialect.name == "postgresql":
        bucket = func.floor(func.extract("epoch", o.created_at - start) / _DAY).label("bucket")
        q = select(o.debtor_id, bucket, func.sum(o.amount)).where(*where).group_by(o.debtor_id, bucket)
        for debtor, k, total in session.execute(q):
            out.setdefault(debtor, [0] * days)[min(int(k), days - 1)] += int(total)
        return out
    for debtor, created, amount in session.execute(select(o.debtor_id, o.created_at, o.amount).where(*where)):
        k = min(int((created - start).total_seconds()) // _DAY, days - 1)
        out.setdefault(debtor, [0] * days)[k] += amount
    return out


def carried_counts(session: Session) -> dict[int, int]:
    """Debtor id → how many of its obligations are carried over or queued beyond headroom."""
    q = (
        select(Obligation.debtor_id, func.count())
        .where(Obligation.status.in_(CARRIED_STATUSES))
        .group_by(Obligation.debtor_id)
    )
    return {debtor: int(n) for debtor, n in session.execute(q)}


@dataclass(frozen=True, slots=True)
class HeldRow:
    hold_id: int
    debtor_id: int
    obligation_id: str
    rule: str
    created_at: datetime


def open_holds(session: Session) -> list[HeldRow]:
    """Every open hold, with the debtor and id of the obligation it keeps, oldest first."""
    q = (
        select(Hold.id, Obligation.debtor_id, Obligation.id, Hold.rule, Hold.created_at)
        .join(Obligation, Obligation.obligation_key == Hold.obligation_key)
        .where(Hold.status == HoldStatus.OPEN)
        .order_by(Hold.id)
    )
    return [HeldRow(*row) for row in session.execute(q)]


def disabled_endpoints(session: Session) -> dict[int | None, list[tuple[int, str, str | None]]]:
    """Owner member id (None: the operator's) → its webhook endpoints disabled and not deleted: (id, url, reason)."""
    e = WebhookEndpoint
    out: dict[int | None, list[tuple[int, str, str | None]]] = {}
    q = select(e.member_id, e.id, e.url, e.disabled_reason).where(e.enabled.is_(False), e.deleted_at.is_(None))
    for member_id, eid, url, reason in session.execute(q.order_by(e.id)):
        out.setdefault(member_id, []).append((int(eid), url, reason))
    return out
