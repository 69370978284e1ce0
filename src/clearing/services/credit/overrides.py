"""Operator overrides: a member's tier and/or line pinned, with a reason and an expiry, audited.

One override is in force per member at a time: a new one ends the one before. It stops applying
when the operator ends it or when it expires (the next rescoring records the expiry, audited as the
house's own action). A pinned line may not exceed the member's cap (30% of average monthly
volume, or its provisional bound) unless the operator says ``above_cap``; the pin and its reason
are shown to the member as an override.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from clearing.adapters.db.models import CreditOverride, Member
from clearing.domain.tiering import TIERS, Pin
from clearing.errors import CreditLineAboveCap, NotFound, OverrideRefused
from clearing.services.audit_log import record_action
from clearing.services.credit.policy import SYSTEM


@dataclass(frozen=True, slots=True)
class OverrideView:
    id: int
    member: str
    tier: str | None
    credit_line: int | None
    above_cap: bool
    reason: str
    actor: str
    created_at: datetime
    expires_at: datetime
    ended_at: datetime | None
    ended_by: str | None
    end_reason: str | None
    #: In force now: not ended and not expired.
    active: bool


def view_of(o: CreditOverride, member: str, now: datetime) -> OverrideView:
    return OverrideView(
        id=o.id,
        member=member,
        tier=o.tier,
        credit_line=o.credit_line,
        above_cap=o.above_cap,
        reason=o.reason,
        actor=o.actor,
        created_at=o.created_at,
        expires_at=o.expires_at,
        ended_at=o.ended_at,
        ended_by=o.ended_by,
        end_reason=o.end_reason,
        active=o.ended_at is None and o.expires_at > now,
    )


def pin_of(o: CreditOverride | None) -> Pin | None:
    if o is None:
        return None
    return Pin(tier=o.tier, credit_line=o.credit_line, above_cap=o.above_cap, reason=o.reason)


def in_force(s: Session, now: datetime, member_ids: Sequence[int] | None = None) -> dict[int, CreditOverride]:
    """The override in force per member id (not ended, not yet expired)."""
    q = select(CreditOverride).where(CreditOverride.ended_at.is_(None), CreditOverride.expires_at > now)
    if member_ids is not None:
        q = q.where(CreditOverride.member_id.in_(list(member_ids)))
    return {o.member_id: o for o in s.scalars(q.order_by(CreditOverride.id))}


def expire(s: Session, now: datetime, member_ids: Sequence[int] | None = None) -> list[int]:
    """End the overrides whose expiry has passed (audited as the house's own action); their member ids.

    Given ``member_ids``, only theirs: a member's pin ends in the rescoring that applies its end.
    """
    q = select(CreditOverride).where(CreditOverride.ended_at.is_(None), CreditOverride.expires_at <= now)
    if member_ids is not None:
        q = q.where(CreditOverride.member_id.in_(list(member_ids)))
    rows = s.scalars(q).all()
    if not rows:
        return []
    names = dict(s.execute(select(Member.id, Member.name).where(Member.id.in_([o.member_id for o in rows]))).all())
    for o in rows:
        o.ended_at, o.ended_by, o.end_reason = o.expires_at, SYSTEM, "expired"
        record_action(s, SYSTEM, "credit.override_expired", {"member": names.get(o.member_id), "override": o.id})
    return [o.member_id for o in rows]


def check(
    *,
    tier: str | None,
    credit_line: int | None,
    reason: str,
    expires_at: datetime,
    now: datetime,
    max_days: int,
) -> None:
    """What an override request must be, before anything is read (each refusal names its field)."""
    if tier is None and credit_line is None:
        raise OverrideRefused("an override pins a tier, a credit line or both", field="tier")
    if tier is not None and tier not in TIERS:
        raise OverrideRefused("tier must be one of A, B, C", field="tier", tier=tier)
    if credit_line is not None and credit_line < 0:
        raise OverrideRefused("credit_line must be ≥ 0", field="credit_line")
    if not reason.strip():
        raise OverrideRefused("an override needs a reason", field="reason")
    if expires_at.tzinfo is None:
        raise OverrideRefused("expires_at needs a time zone (e.g. Z)", field="expires_at")
    if expires_at <= now:
        raise OverrideRefused("expires_at must be in the future", field="expires_at", now=now.isoformat())
    if expires_at > now + timedelta(days=max_days):
        raise OverrideRefused(f"an override may last at most {max_days} days", field="expires_at", max_days=max_days)


def pin(
    s: Session,
    member: Member,
    actor: str,
    *,
    tier: str | None,
    credit_line: int | None,
    above_cap: bool,
    reason: str,
    expires_at: datetime,
    now: datetime,
    ceiling: int,
    average_volume: int,
) -> CreditOverride:
    """Record an override (ending the one in force); the caller has checked it (:func:`check`) and
    computed the member's ``ceiling`` (what a line may be without ``above_cap``)."""
    if credit_line is not None and credit_line > ceiling and not above_cap:
        raise CreditLineAboveCap(
            f"credit line {credit_line} is above {member.name}'s cap {ceiling} (30% of its average monthly volume "
            f"{average_volume}, or its provisional bound); pin it with above_cap to exceed the cap",
            field="credit_line",
            requested=credit_line,
            cap=ceiling,
            average_monthly_volume=average_volume,
        )
    current = in_force(s, now, [member.id]).get(member.id)
    o = CreditOverride(
        member_id=member.id,
        tier=tier,
        credit_line=credit_line,
        above_cap=above_cap,
        reason=reason,
        actor=actor,
        created_at=now,
        expires_at=expires_at,
    )
    s.add(o)
    s.flush()
    if current is not None:
        current.ended_at, current.ended_by, current.end_reason = now, actor, f"replaced by override {o.id}"
    record_action(
        s,
        actor,
        "credit.override",
        {
            "member": member.name,
            "override": o.id,
            "tier": tier,
            "credit_line": credit_line,
            "above_cap": above_cap,
            "reason": reason,
            "expires_at": expires_at.isoformat(),
            "replaces": current.id if current is not None else None,
        },
    )
    s.flush()  # the session does not autoflush: the rescoring that follows reads overrides in force
    return o


def end(s: Session, member: Member, actor: str, *, reason: str, now: datetime) -> CreditOverride:
    """End the member's override in force (404 when there is none)."""
    if not reason.strip():
        raise OverrideRefused("ending an override needs a reason", field="reason")
    o = in_force(s, now, [member.id]).get(member.id)
    if o is None:
        raise NotFound(f"{member.name} has no override in force", field="name", name=member.name)
    o.ended_at, o.ended_by, o.end_reason = now, actor, reason
    record_action(s, actor, "credit.override_end", {"member": member.name, "override": o.id, "reason": reason})
    s.flush()
    return o


def of_member(s: Session, member: Member, now: datetime, limit: int = 20) -> list[OverrideView]:
    rows = s.scalars(
        select(CreditOverride)
        .where(CreditOverride.member_id == member.id)
        .order_by(CreditOverride.id.desc())
        .limit(limit)
    )
    return [view_of(o, member.name, now) for o in rows]


def listing(s: Session, *, active_only: bool, now: datetime, limit: int = 500) -> list[OverrideView]:
    """Every member's overrides, newest first (``active_only``: those in force)."""
    q = select(CreditOverride, Member.name).join(Member, Member.id == CreditOverride.member_id)
    if active_only:
        q = q.where(CreditOverride.ended_at.is_(None), CreditOverride.expires_at > now)
    return [view_of(o, name, now) for o, name in s.execute(q.order_by(CreditOverride.id.desc()).limit(limit))]
