"""Review of held obligations: release (then the headroom check runs) or reject, with a reason.

Every review is a ``hold_reviews`` row and an ``audit_log`` entry. An
obligation leaves ``held`` when its last open hold is released; one rejected
hold rejects the obligation (and closes its other holds). The house releases
by itself, on the scheduler (:func:`release_lapsed`): holds whose
``release_after`` has passed, and ``member-suspended`` holds once their
member is resumed (``members.set_status`` re-evaluates those at once).

A ``dispute`` hold keeps a disputed obligation out of netting until the
operator resolves the dispute (``services/disputes.py``, through
:func:`decide_hold`); it is never reviewed here and never lapses. It may
hold an obligation that is ``disputed`` rather than ``held``: one the house
had already taken on, which stays in its debtor's velocity window (see
``ObligationStatus.DISPUTED``); rejected, such an obligation is ``cancelled``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from clearing.adapters.db.models import Hold, HoldReview, Member, Obligation
from clearing.adapters.db.reservations import lock_members, transition
from clearing.domain.headroom import liquidity_of
from clearing.domain.risk import settlement_route
from clearing.domain.vocabulary import EventType, HoldStatus, MemberStatus, Route
from clearing.domain.vocabulary import ObligationStatus as S
from clearing.errors import Conflict, NotFound, ValidationError
from clearing.services.audit_log import record_action
from clearing.services.context import ServiceContext
from clearing.services.keys import Principal
from clearing.services.webhooks.events import publish_obligation

#: Who the audit log and hold reviews name for releases the house makes by itself.
AUTO_RELEASE = "system:auto-release"
RESUME_RELEASE = "system:resume"
MEMBER_SUSPENDED = "member-suspended"
#: The rule of the hold a pre-close dispute puts on its obligation (its values name the dispute).
DISPUTE = "dispute"
#: Statuses an open hold keeps out of netting.
KEPT = (S.HELD, S.DISPUTED)


@dataclass(frozen=True, slots=True)
class HoldView:
    """A hold with the obligation it keeps out of netting (the one shape services hand out)."""

    id: int
    #: The obligation's id, as its submitter chose it (unique per submitter).
    obligation_id: str
    #: Name of the member that submitted the obligation.
    submitter: str
    #: The obligation's key (0x-hex): unique across members.
    obligation_key: str
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


def hold_view(h: Hold, obligation_id: str, submitter: str, amount: int, debtor: str, creditor: str) -> HoldView:
    return HoldView(
        id=h.id,
        obligation_id=obligation_id,
        submitter=submitter,
        obligation_key=h.obligation_key,
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
    return hold_view(h, o.id, names[o.submitted_by], o.amount, names[o.debtor_id], names[o.creditor_id])


def list_holds(
    ctx: ServiceContext, *, status: str | None = HoldStatus.OPEN, limit: int = 500, member_id: int | None = None
) -> list[HoldView]:
    """Holds by age; ``member_id``: only those on obligations it is the debtor or creditor of."""
    with ctx.uow(read_only=True) as uow:
        s = uow.session
        q = (
            select(Hold, Obligation)
            .join(Obligation, Obligation.obligation_key == Hold.obligation_key)
            .order_by(Hold.id)
            .limit(limit)
        )
        if status:
            q = q.where(Hold.status == status)
        if member_id is not None:
            q = q.where(or_(Obligation.debtor_id == member_id, Obligation.creditor_id == member_id))
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
        if h.rule == DISPUTE:
            dispute = (h.values or {}).get("dispute")
            raise Conflict(
                f"hold {hold_id} is dispute {dispute}'s: resolve the dispute (POST /disputes/{dispute}/resolve)",
                field="hold_id",
                dispute=dispute,
            )
        status = _decide(s, [h], decision, reason, actor.actor)
        o = s.get(Obligation, h.obligation_key)
        assert o is not None  # a hold's obligation is never deleted
        names = dict(s.execute(select(Member.id, Member.name)).all())
        record_action(
            s,
            actor.actor,
            f"hold.{decision}",
            {
                "hold": hold_id,
                "obligation": o.id,
                "submitter": names[o.submitted_by],
                "obligation_key": o.obligation_key,
                "rule": h.rule,
                "reason": reason,
            },
        )
        uow.commit()
        return ReviewResult(hold=_row(h, o, names), decision=decision, obligation_status=status)


def decide_hold(s: Session, hold: Hold, decision: str, reason: str, reviewer: str) -> str:
    """Release or reject one open hold in the caller's transaction (its review row included, no audit entry);
    returns the obligation's status after it. For services that own a hold's outcome (disputes)."""
    return _decide(s, [hold], decision, reason, reviewer)


def _decide(s: Session, holds: Sequence[Hold], decision: str, reason: str, reviewer: str) -> str:
    """Apply ``decision`` to holds of ONE obligation; returns the obligation's new status."""
    oid = holds[0].obligation_key
    for h in holds:
        h.status = HoldStatus.RELEASED if decision == "release" else HoldStatus.REJECTED
        s.add(HoldReview(hold_id=h.id, reviewer=reviewer, decision=decision, reason=reason))
    s.flush()
    o = s.get(Obligation, oid)
    if o is None or o.status not in KEPT:
        return o.status if o else "missing"
    if decision == "reject":
        for other in s.scalars(select(Hold).where(Hold.obligation_key == oid, Hold.status == HoldStatus.OPEN)):
            other.status = HoldStatus.REJECTED
        # A disputed obligation is counted in its debtor's velocity window: it may not become rejected.
        final = S.CANCELLED if o.status == S.DISPUTED else S.REJECTED
        transition(s, [oid], final)
        publish_obligation(s, EventType.OBLIGATION_REJECTED, oid, reason=reason, reviewer=reviewer)
        return final
    still_open = s.scalar(select(Hold.id).where(Hold.obligation_key == oid, Hold.status == HoldStatus.OPEN).limit(1))
    if still_open is not None:
        return o.status
    # Released: the headroom check runs now, as at submission.
    members = lock_members(s, [o.debtor_id, o.creditor_id])
    debtor = members[o.debtor_id]
    room = liquidity_of(debtor).headroom
    if o.amount > room:
        new = S.QUEUED_BEYOND_HEADROOM
        transition(s, [oid], new, shortfall=o.amount - max(0, room))
    else:
        new = S.ESCROW if settlement_route(debtor.tier) == Route.ESCROW else S.ACCEPTED
        transition(s, [oid], new, shortfall=None)
    publish_obligation(s, EventType.OBLIGATION_RELEASED, oid, reason=reason, reviewer=reviewer)
    return new


def release_lapsed(ctx: ServiceContext, now: datetime | None = None) -> int:
    """What the scheduler runs each tick: :func:`release_due`, then member-suspended holds whose member
    is active again (a resume whose own re-evaluation did not run, e.g. a crash right after it)."""
    return release_due(ctx, now) + release_resumed(ctx)


def release_due(ctx: ServiceContext, now: datetime | None = None) -> int:
    """Release every open hold whose ``release_after`` has passed (tier A fast release, tier B graded holds).

    Returns how many. Holds are claimed with ``FOR UPDATE SKIP LOCKED``: where several processes run
    the scheduler, each releases what the others have not claimed, and none waits on another.
    """
    now = now or ctx.clock()
    with ctx.uow() as uow:
        s = uow.session
        due = s.scalars(
            select(Hold)
            .where(Hold.status == HoldStatus.OPEN, Hold.release_after.is_not(None), Hold.release_after <= now)
            .order_by(Hold.id)
            .with_for_update(skip_locked=True)
        ).all()
        _release_all(s, due, "release_after passed", AUTO_RELEASE)
        if due:
            record_action(s, AUTO_RELEASE, "hold.auto_release", {"holds": [h.id for h in due]})
        uow.commit()
        return len(due)


def release_resumed(ctx: ServiceContext, member_id: int | None = None) -> int:
    """Re-evaluate open ``member-suspended`` holds: the rule no longer holds for a member that is active again.

    Each such hold names one member (debtor or creditor, suspended at submission); it is released
    when that member is active, so an obligation between two suspended members stays held until
    both are resumed. Released like any hold: the obligation's other open holds still keep it,
    else the headroom check runs. ``member_id``: only obligations this member is a party to.
    Returns how many holds were released.
    """
    with ctx.uow() as uow:
        s = uow.session
        q = (
            select(Hold)
            .join(Obligation, Obligation.obligation_key == Hold.obligation_key)
            .where(Hold.status == HoldStatus.OPEN, Hold.rule == MEMBER_SUSPENDED)
            .order_by(Hold.id)
            .with_for_update(of=Hold, skip_locked=True)
        )
        if member_id is not None:
            q = q.where(or_(Obligation.debtor_id == member_id, Obligation.creditor_id == member_id))
        candidates = s.scalars(q).all()
        if not candidates:
            return 0
        named = {str((h.values or {}).get("member")) for h in candidates}
        active = set(s.scalars(select(Member.name).where(Member.name.in_(named), Member.status == MemberStatus.ACTIVE)))
        lapsed = [h for h in candidates if str((h.values or {}).get("member")) in active]
        _release_all(s, lapsed, "member resumed: not suspended any more", RESUME_RELEASE)
        if lapsed:
            record_action(s, RESUME_RELEASE, "hold.resume_release", {"holds": [h.id for h in lapsed]})
        uow.commit()
        return len(lapsed)


def _release_all(s: Session, holds: Sequence[Hold], reason: str, reviewer: str) -> None:
    """Release ``holds`` (any obligations), locking every member involved first, in id order.

    One lock order for the whole transaction (submissions lock members in id order too), so
    releasing many obligations cannot deadlock with a submission that locks the same members.
    """
    if not holds:
        return
    by_obligation: dict[str, list[Hold]] = {}
    for h in holds:
        by_obligation.setdefault(h.obligation_key, []).append(h)
    parties = s.execute(
        select(Obligation.debtor_id, Obligation.creditor_id).where(Obligation.obligation_key.in_(list(by_obligation)))
    ).all()
    lock_members(s, {m for pair in parties for m in pair})
    for group in by_obligation.values():
        _decide(s, group, "release", reason, reviewer)
