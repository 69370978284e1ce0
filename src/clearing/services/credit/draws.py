"""Drawings of credit and their deadlines, followed from each member's balance on chain.

Credit drawn is ``max(0, −balance)`` (the headroom model: collateral is the positive balance, the
line lets it go below zero). At each rescoring the open drawings of a member are brought in line
with what it has drawn now: more drawn is a new drawing, due ``repayment_days`` of its tier later;
less drawn repays the oldest drawings first. A drawing repaid after its deadline counts as late,
one still unpaid past it as a default. Declaring a member in default (``services/defaults.py``)
closes its open drawings (:func:`close_defaulted`: status ``defaulted``, counted through the
declaration instead), and while it is in default its balance is the waterfall's, not new drawings.

When a line is cut below what is drawn, the open drawings are due within the new tier's
``repayment_days`` at the latest (:func:`shorten`); the limit on chain stays at the debt, so no new
credit can be drawn meanwhile.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from clearing.adapters.db.credit_inputs import DEFAULTED
from clearing.adapters.db.member_defaults import active_defaults
from clearing.adapters.db.models import CreditDraw, Member
from clearing.domain.tiering import TierPolicy

OPEN, REPAID = "open", "repaid"


@dataclass(frozen=True, slots=True)
class DrawView:
    id: int
    amount: int
    outstanding: int
    drawn_at: datetime
    due_at: datetime
    repaid_at: datetime | None
    status: str
    #: Open and past its deadline: counted as a default.
    overdue: bool


def track(
    s: Session, now: datetime, policies: Mapping[str, TierPolicy], member_ids: Sequence[int] | None = None
) -> int:
    """Record new drawings and repayments from the balance mirror; returns how many rows changed."""
    mq = select(Member.id, Member.tier, Member.chain_balance)
    dq = select(CreditDraw).where(CreditDraw.status == OPEN).order_by(CreditDraw.drawn_at, CreditDraw.id)
    if member_ids is not None:
        mq = mq.where(Member.id.in_(list(member_ids)))
        dq = dq.where(CreditDraw.member_id.in_(list(member_ids)))
    open_rows: dict[int, list[CreditDraw]] = defaultdict(list)
    for row in s.scalars(dq):
        open_rows[row.member_id].append(row)
    changed = 0
    in_default = active_defaults(s, member_ids)
    for mid, tier, balance in s.execute(mq):  # amounts are text on SQLite: compared here, not in SQL
        if mid in in_default:
            continue
        drawn = max(0, -balance)
        rows = open_rows.get(mid, [])
        owed = sum(r.outstanding for r in rows)
        if drawn > owed:
            days = policies[tier].repayment_days if tier in policies else policies["C"].repayment_days
            s.add(
                CreditDraw(
                    member_id=mid,
                    amount=drawn - owed,
                    outstanding=drawn - owed,
                    drawn_at=now,
                    due_at=now + timedelta(days=days),
                    status=OPEN,
                )
            )
            changed += 1
        elif drawn < owed:
            paid = owed - drawn
            for r in rows:  # oldest first
                take = min(paid, r.outstanding)
                r.outstanding -= take
                paid -= take
                if r.outstanding == 0:
                    r.status, r.repaid_at = REPAID, now
                changed += 1
                if paid == 0:
                    break
    return changed


def close_defaulted(s: Session, member_id: int) -> int:
    """A default was declared: the member's open drawings close as ``defaulted``; how many."""
    result = s.execute(
        update(CreditDraw)
        .where(CreditDraw.member_id == member_id, CreditDraw.status == OPEN)
        .values(status=DEFAULTED)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def shorten(s: Session, member_id: int, due: datetime) -> None:
    """Every open drawing of the member is due by ``due`` at the latest (its line was cut below the debt)."""
    s.execute(
        update(CreditDraw)
        .where(CreditDraw.member_id == member_id, CreditDraw.status == OPEN, CreditDraw.due_at > due)
        .values(due_at=due)
        .execution_options(synchronize_session=False)
    )


def of_member(s: Session, member_id: int, now: datetime, limit: int = 50) -> list[DrawView]:
    """The member's drawings: open ones first, soonest due first, then the newest repaid."""
    mine = select(CreditDraw).where(CreditDraw.member_id == member_id)
    rows = [
        *s.scalars(mine.where(CreditDraw.status == OPEN).order_by(CreditDraw.due_at, CreditDraw.id)),
        *s.scalars(mine.where(CreditDraw.status != OPEN).order_by(CreditDraw.id.desc()).limit(limit)),
    ]
    return [
        DrawView(
            id=r.id,
            amount=r.amount,
            outstanding=r.outstanding,
            drawn_at=r.drawn_at,
            due_at=r.due_at,
            repaid_at=r.repaid_at,
            status=r.status,
            overdue=r.status == OPEN and r.due_at < now,
        )
        for r in rows
    ]
