"""Credit changes an operator or an admission makes: each scores its member at once, in its own transaction.

- Admission (:func:`admitted`): the new member starts provisional (the policy's provisional tier and
  a line bounded by policy and collateral, which the score later confirms or withdraws). A tier typed
  at admission is a pin for the provisional period: an override, audited, shown to the member.
- Overrides (:func:`override`, :func:`end_override`, and :func:`pin_in` for ``PATCH
  /members/{name}/limits``): a tier and/or line pinned with a reason and an expiry.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from clearing.adapters.db import credit_store
from clearing.adapters.db.models import Member
from clearing.domain.tiering import TierState
from clearing.errors import NotFound
from clearing.services import outbox
from clearing.services.context import ServiceContext
from clearing.services.credit import overrides
from clearing.services.credit.policy import CreditPolicy, policy_of
from clearing.services.credit.rescore import RescoreResult, evaluate, rescore, rescore_in
from clearing.services.credit.views import CreditView, credit_of
from clearing.services.keys import Principal


def admitted(
    s: Session,
    policy: CreditPolicy,
    now: datetime,
    member: Member,
    actor: str,
    *,
    tier: str | None,
    requested_line: int | None,
    reason: str | None = None,
) -> list[outbox.OutboxItem]:
    """Score a member just admitted (in the admission's unit of work); the outbox rows to send after it commits."""
    if tier is not None:
        days = max(1, policy.tiering.provisional_days)
        overrides.pin(
            s,
            member,
            actor,
            tier=tier,
            credit_line=None,
            above_cap=False,
            reason=reason or f"tier {tier} set at admission by {actor}, for the provisional period",
            expires_at=now + timedelta(days=days),
            now=now,
            ceiling=0,
            average_volume=0,
        )
    initial = {
        member.id: TierState(policy.tiering.provisional_tier, provisional=True, provisional_request=requested_line)
    }
    items, _ = rescore_in(s, policy, now, trigger="admission", member_ids=[member.id], initial=initial)
    return items


def pin_in(
    s: Session,
    policy: CreditPolicy,
    now: datetime,
    member: Member,
    actor: str,
    *,
    tier: str | None,
    credit_line: int | None,
    above_cap: bool,
    reason: str,
    expires_at: datetime,
) -> list[outbox.OutboxItem]:
    """Pin in the caller's unit of work and rescore the member; the outbox rows to send after the commit."""
    overrides.check(
        tier=tier,
        credit_line=credit_line,
        reason=reason,
        expires_at=expires_at,
        now=now,
        max_days=policy.override_max_days,
    )
    credit_store.lock_rescoring(s)
    [ev] = evaluate(s, now, policy, [member.id])  # the member's cap as things stand
    overrides.pin(
        s,
        member,
        actor,
        tier=tier,
        credit_line=credit_line,
        above_cap=above_cap,
        reason=reason,
        expires_at=expires_at,
        now=now,
        ceiling=ev.decision.ceiling,
        average_volume=ev.decision.average_volume,
    )
    s.flush()
    items, _ = rescore_in(s, policy, now, trigger="override", member_ids=[member.id])
    return items


def _member(s: Session, name: str) -> Member:
    m = s.scalars(select(Member).where(Member.name == name)).first()
    if m is None:
        raise NotFound(f"no member {name!r}", field="name", name=name)
    return m


def override(
    ctx: ServiceContext,
    actor: Principal,
    name: str,
    *,
    tier: str | None,
    credit_line: int | None,
    above_cap: bool,
    reason: str,
    expires_at: datetime,
) -> CreditView:
    """Pin ``name``'s tier and/or line until ``expires_at`` (audited ``credit.override``); its credit now."""
    policy, now = policy_of(ctx.settings), ctx.clock()
    with ctx.uow() as uow:
        m = _member(uow.session, name)
        items = pin_in(
            uow.session,
            policy,
            now,
            m,
            actor.actor,
            tier=tier,
            credit_line=credit_line,
            above_cap=above_cap,
            reason=reason,
            expires_at=expires_at,
        )
        member_id = m.id
        uow.commit()
    ctx.outbox.dispatch(items)
    return credit_of(ctx, member_id)


def end_override(ctx: ServiceContext, actor: Principal, name: str, *, reason: str) -> CreditView:
    """End ``name``'s override in force (audited ``credit.override_end``); the score decides again at once."""
    policy, now = policy_of(ctx.settings), ctx.clock()
    with ctx.uow() as uow:
        s = uow.session
        m = _member(s, name)
        credit_store.lock_rescoring(s)
        overrides.end(s, m, actor.actor, reason=reason, now=now)
        s.flush()
        items, _ = rescore_in(s, policy, now, trigger="override", member_ids=[m.id])
        member_id = m.id
        uow.commit()
    ctx.outbox.dispatch(items)
    return credit_of(ctx, member_id)


def rescore_now(ctx: ServiceContext, actor: Principal, name: str | None = None) -> RescoreResult:
    """An operator's rescoring of one member or all (``POST /credit/rescore``), recorded as ``manual``."""
    ids = None if name is None else [_member_id(ctx, name)]
    return rescore(ctx, trigger="manual", member_ids=ids)


def _member_id(ctx: ServiceContext, name: str) -> int:
    with ctx.uow(read_only=True) as uow:
        return _member(uow.session, name).id
