"""Review of held obligations: release (then the headroom check runs) or reject, with a reason.

Every review is a ``hold_reviews`` row and an ``audit_log`` entry. An
obligation leaves ``held`` when its last open hold is released; one rejected
hold rejects the obligation (and closes its other holds).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from clearing.adapters.db.models import Hold, HoldReview, Member, Obligation
from clearing.adapters.db.reservations import lock_members, transition
from clearing.domain.headroom import liquidity_of
from clearing.domain.risk import settlement_route
from clearing.domain.vocabulary import HoldStatus, Route
from clearing.domain.vocabulary import ObligationStatus as S
from clearing.errors import Conflict, NotFound, ValidationError
from clearing.services.context import ServiceContext
from clearing.services.keys import Principal
from clearing.services.members import record_action


@dataclass(frozen=True, slots=True)
class HoldView:
    """A hold with the obligation it keeps out of netting (the one shape services hand out)."""

    id: int
    obligation_id: str
    debtor: str
    creditor: str
    amount: int
    rule: str
    message: str
    values: dict[str, object]
    release_after: datetime | None
    status: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ReviewResult:
    hold: HoldView
    decision: str
    obligation_status: str


def hold_view(h: Hold, amount: int, debtor: str, creditor: str) -> HoldView:
    return HoldView(
        id=h.id,
        obligation_id=h.obligation_id,
        debtor=debtor,
        creditor=creditor,
        amount=amount,
        rule=h.rule,
        message=h.message,
        values=dict(h.values or {}),
        release_after=h.release_after,
        status=h.status,
        created_at=h.created_at,
    )


def _row(h: Hold, o: Obligation, names: dict[int, str]) -> HoldView:
    return hold_view(h, o.amount, names[o.debtor_id], names[o.creditor_id])


def list_holds(ctx: ServiceContext, *, status: str | None = HoldStatus.OPEN, limit: int = 500) -> list[HoldView]:
    with ctx.uow(read_only=True) as uow:
        s = uow.session
        q = (
            select(Hold, Obligation)
            .join(Obligation, Obligation.id == Hold.obligation_id)
            .order_by(Hold.id)
            .limit(limit)
        )
        if status:
            q = q.where(Hold.status == status)
        names = dict(s.execute(select(Member.id, Member.name)).all())
        return [_row(h, o, names) for h, o in s.execute(q).all()]


def review(ctx: ServiceContext, actor: Principal, hold_id: int, *, decision: str, reason: str) -> ReviewResult:
    if decision not in ("release", "reject"):
        raise ValidationError("decision is release or reject", field="decision")
    if not reason.strip():
        raise ValidationError("a review needs a reason", field="reason")
    with ctx.uow() as uow:
        s = uow.session
        h = s.get(Hold, hold_id, with_for_update=True)
        if h is None:
            raise NotFound(f"no hold {hold_id}", field="hold_id")
        if h.status != HoldStatus.OPEN:
            raise Conflict(f"hold {hold_id} was already {h.status}", field="hold_id", status=h.status)
        status = _decide(ctx, s, [h], decision, reason, actor.actor)
        record_action(
            s,
            actor.actor,
            f"hold.{decision}",
            {"hold": hold_id, "obligation": h.obligation_id, "rule": h.rule, "reason": reason},
        )
        uow.commit()
        o = s.get(Obligation, h.obligation_id)
        assert o is not None  # a hold's obligation is never deleted
        names = dict(s.execute(select(Member.id, Member.name)).all())
        return ReviewResult(hold=_row(h, o, names), decision=decision, obligation_status=status)


def _decide(ctx: ServiceContext, s: Session, holds: Sequence[Hold], decision: str, reason: str, reviewer: str) -> str:
    """Apply ``decision`` to holds of ONE obligation; returns the obligation's new status."""
    oid = holds[0].obligation_id
    for h in holds:
        h.status = HoldStatus.RELEASED if decision == "release" else HoldStatus.REJECTED
        s.add(HoldReview(hold_id=h.id, reviewer=reviewer, decision=decision, reason=reason))
    s.flush()
    o = s.get(Obligation, oid)
    if o is None or o.status != S.HELD:
        return o.status if o else "missing"
    if decision == "reject":
        for other in s.scalars(select(Hold).where(Hold.obligation_id == oid, Hold.status == HoldStatus.OPEN)):
            other.status = HoldStatus.REJECTED
        transition(s, [oid], S.REJECTED)
        return S.REJECTED
    still_open = s.scalar(select(Hold.id).where(Hold.obligation_id == oid, Hold.status == HoldStatus.OPEN).limit(1))
    if still_open is not None:
        return S.HELD
    # Released: the headroom check runs now, as at submission.
    members = lock_members(s, [o.debtor_id, o.creditor_id])
    debtor = members[o.debtor_id]
    room = liquidity_of(debtor).headroom
    if o.amount > room:
        transition(s, [oid], S.QUEUED_BEYOND_HEADROOM, shortfall=o.amount - max(0, room))
        return S.QUEUED_BEYOND_HEADROOM
    new = S.ESCROW if settlement_route(debtor.tier) == Route.ESCROW else S.ACCEPTED
    transition(s, [oid], new, shortfall=None)
    return new


def release_due(ctx: ServiceContext, now: datetime | None = None) -> int:
    """Release every open hold whose ``release_after`` has passed (tier A fast release). Returns how many."""
    now = now or ctx.clock()
    with ctx.uow() as uow:
        s = uow.session
        due = s.scalars(
            select(Hold)
            .where(Hold.status == HoldStatus.OPEN, Hold.release_after.is_not(None), Hold.release_after <= now)
            .order_by(Hold.id)
            .with_for_update()
        ).all()
        for h in due:
            _decide(ctx, s, [h], "release", "release_after passed", "system:auto-release")
        if due:
            record_action(s, "system:auto-release", "hold.auto_release", {"holds": [h.id for h in due]})
        uow.commit()
        return len(due)
