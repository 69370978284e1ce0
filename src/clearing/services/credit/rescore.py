"""Rescoring: every member scored from its own ledger history, its tier and line applied, the change recorded.

One rescoring is one ledger transaction (serialised across processes: ``credit_store.lock_rescoring``):

1. overrides past their expiry end (audited as the house's own action);
2. drawings of credit follow the balance mirror (``draws.track``): new drawings get their deadline,
   repayments pay the oldest first;
3. the inputs of every member come from the ledger's one set-based reading
   (``adapters/db/credit_inputs.gather_credit_inputs``, through ``inputs``);
4. :func:`clearing.domain.tiering.decide` gives tier, line and on-chain limit, with hysteresis, the
   provisional line of new members and the operator's pin (a member in default: tier C, no line);
5. what changed is applied: the member row (tier, reasons, line: the risk rules and the headroom check
   read them), a ``credit_scores`` history row saying what changed and why, the drawn part's deadline
   when a line falls below it, and a ``set_credit_limit`` outbox row when the limit on chain must move.

The outbox rows are sent after the commit. The scheduler runs it every ``credit.rescore_seconds``,
the cycle service after each cycle it settles, admission and overrides for their member.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from clearing.adapters.db import credit_store
from clearing.adapters.db.member_defaults import active_defaults
from clearing.adapters.db.models import CreditScore, Member
from clearing.adapters.db.reservations import lock_members
from clearing.domain.amounts import as_json_values
from clearing.domain.credit import CreditInputs, factor_rule
from clearing.domain.tiering import Decision, Position, TierState, decide
from clearing.domain.vocabulary import EventType
from clearing.errors import ValidationError
from clearing.services import outbox
from clearing.services.context import ServiceContext
from clearing.services.credit import draws, inputs, overrides
from clearing.services.credit.policy import TRIGGERS, CreditPolicy, policy_of
from clearing.services.webhooks.events import publish_member_event


@dataclass(frozen=True, slots=True)
class Previous:
    """What a member's newest history row says, as rescoring compares it (no factors or inputs)."""

    score: int
    score_tier: str
    tier: str
    credit_line: int
    chain_limit: int
    source: str
    state: dict[str, Any]
    override_id: int | None


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One member assessed (nothing written yet)."""

    member_id: int
    name: str
    inputs: CreditInputs
    position: Position
    decision: Decision
    override_id: int | None
    previous: Previous | None
    member_tier: str
    member_line: int
    chain_credit_limit: int


@dataclass(frozen=True, slots=True)
class RescoreResult:
    members: int
    #: History rows written (assessments that changed something).
    recorded: int
    line_changes: int
    chain_updates: int
    #: (member, from tier, to tier) of every tier migration.
    migrations: tuple[tuple[str, str, str], ...]


def state_json(st: TierState) -> dict[str, Any]:
    return as_json_values(
        {
            "tier": st.tier,
            "provisional": st.provisional,
            "pending_tier": st.pending_tier,
            "pending_since": st.pending_since,
            "provisional_request": st.provisional_request,
        }
    )


def state_of(row: CreditScore | Previous | None, member_tier: str, initial: TierState | None = None) -> TierState:
    """The hysteresis state the member's latest history row left (a member never scored starts from its tier)."""
    if row is None:
        return initial or TierState(tier=member_tier if member_tier in ("A", "B", "C") else "C")
    st = row.state or {}
    request, since = st.get("provisional_request"), st.get("pending_since")
    return TierState(
        tier=str(st.get("tier", row.score_tier)),
        provisional=bool(st.get("provisional", False)),
        pending_tier=st.get("pending_tier"),
        pending_since=None if since is None else int(since),
        provisional_request=None if request is None else int(request),
    )


def inputs_json(x: CreditInputs) -> dict[str, Any]:
    return as_json_values(
        {
            "monthly_volumes": [str(v) for v in x.monthly_volumes],
            "settled_on_time": x.settled_on_time,
            "settled_late": x.settled_late,
            "repaid_on_time": x.repaid_on_time,
            "repaid_late": x.repaid_late,
            "disputes": x.disputes,
            "complaints": x.complaints,
            "defaults": x.defaults,
            "age_days": x.age_days,
        }
    )


def inputs_from_json(d: Mapping[str, Any]) -> CreditInputs:
    return CreditInputs(
        monthly_volumes=tuple(int(v) for v in d.get("monthly_volumes", ())),
        settled_on_time=int(d.get("settled_on_time", 0)),
        settled_late=int(d.get("settled_late", 0)),
        disputes=int(d.get("disputes", 0)),
        complaints=int(d.get("complaints", 0)),
        defaults=int(d.get("defaults", 0)),
        age_days=int(d.get("age_days", 0)),
        repaid_on_time=int(d.get("repaid_on_time", 0)),
        repaid_late=int(d.get("repaid_late", 0)),
    )


def factors_json(d: Decision, policy: CreditPolicy) -> list[dict[str, Any]]:
    return [
        {"name": f.name, "value": str(f.value), "points": f.contribution, "rule": factor_rule(f.name, policy.score)}
        for f in d.assessment.factors
    ]


def latest(s: Session, member_ids: Sequence[int] | None = None) -> dict[int, CreditScore]:
    """Each member's newest history row."""
    newest = select(func.max(CreditScore.id)).group_by(CreditScore.member_id)
    if member_ids is not None:
        newest = newest.where(CreditScore.member_id.in_(list(member_ids)))
    return {r.member_id: r for r in s.scalars(select(CreditScore).where(CreditScore.id.in_(newest.scalar_subquery())))}


def previous(s: Session, member_ids: Sequence[int] | None = None) -> dict[int, Previous]:
    """Each member's newest history row, only the columns rescoring compares (one query)."""
    t = CreditScore
    newest = select(func.max(t.id)).group_by(t.member_id)
    if member_ids is not None:
        newest = newest.where(t.member_id.in_(list(member_ids)))
    q = select(
        t.member_id, t.score, t.score_tier, t.tier, t.credit_line, t.chain_limit, t.source, t.state, t.override_id
    ).where(t.id.in_(newest.scalar_subquery()))
    return {
        r.member_id: Previous(
            score=r.score,
            score_tier=r.score_tier,
            tier=r.tier,
            credit_line=r.credit_line,
            chain_limit=r.chain_limit,
            source=r.source,
            state=r.state or {},
            override_id=r.override_id,
        )
        for r in s.execute(q)
    }


def evaluate(
    s: Session,
    now: datetime,
    policy: CreditPolicy,
    member_ids: Sequence[int] | None = None,
    initial: Mapping[int, TierState] | None = None,
) -> list[Evaluation]:
    """Assess members (all, or ``member_ids``) from the ledger as it is; writes nothing."""
    mq = select(
        Member.id,
        Member.name,
        Member.address,
        Member.tier,
        Member.credit_line,
        Member.chain_balance,
        Member.chain_credit_limit,
        Member.created_at,
    ).order_by(Member.id)
    if member_ids is not None:
        mq = mq.where(Member.id.in_(list(member_ids)))
    members = s.execute(mq).all()
    posted = credit_store.posted_collateral(s, None if member_ids is None else [m.address for m in members])
    gathered = inputs.credit_inputs(s, now, policy.months, member_ids, (m.id for m in members))
    rows = previous(s, member_ids)
    pins = overrides.in_force(s, now, member_ids)
    in_default = active_defaults(s, member_ids)
    out = []
    for m in members:
        x = gathered[m.id]
        prev = rows.get(m.id)
        state = state_of(prev, m.tier, (initial or {}).get(m.id))
        # Collateral is what the member posted (deposits less withdrawals), or its free balance if larger:
        # paying out of it does not shrink a provisional line, withdrawing it does.
        collateral = max(posted.get(m.address, 0), m.chain_balance, 0)
        position = Position(collateral=collateral, drawn=max(0, -m.chain_balance), in_default=m.id in in_default)
        pin = pins.get(m.id)
        d = decide(x, state, position, overrides.pin_of(pin), policy.tiering, policy.score)
        out.append(
            Evaluation(
                member_id=m.id,
                name=m.name,
                inputs=x,
                position=position,
                decision=d,
                override_id=pin.id if pin is not None else None,
                previous=prev,
                member_tier=m.tier,
                member_line=m.credit_line,
                chain_credit_limit=m.chain_credit_limit,
            )
        )
    return out


def _changes(ev: Evaluation) -> list[str]:
    d, prev = ev.decision, ev.previous
    now = {
        "score": d.assessment.score,
        "score_tier": d.score_tier,
        "tier": d.tier,
        "credit_line": d.credit_line,
        "chain_limit": d.chain_limit,
        "source": d.source,
        "state": state_json(d.state),
        "override": ev.override_id,
    }
    if prev is None:
        return list(now)
    before = {
        "score": prev.score,
        "score_tier": prev.score_tier,
        "tier": prev.tier,
        "credit_line": prev.credit_line,
        "chain_limit": prev.chain_limit,
        "source": prev.source,
        "state": prev.state or {},
        "override": prev.override_id,
    }
    return [k for k, v in now.items() if before[k] != v]


def apply(
    s: Session, evaluations: Sequence[Evaluation], *, trigger: str, now: datetime, policy: CreditPolicy
) -> tuple[list[outbox.OutboxItem], RescoreResult]:
    """Write what changed (member rows, history, deadlines) and plan the chain's limits; returns the rows to send."""
    if trigger not in TRIGGERS:
        raise ValidationError(f"unknown trigger {trigger!r}", field="trigger")
    planned = credit_store.planned_limits(s, [e.member_id for e in evaluations])
    moved = [
        e
        for e in evaluations
        if e.decision.tier != e.member_tier or e.decision.credit_line != e.member_line or _changes(e)
    ]
    locked = lock_members(s, [e.member_id for e in moved])
    items: list[outbox.OutboxItem] = []
    recorded = line_changes = 0
    migrations: list[tuple[str, str, str]] = []
    for e in moved:
        d, m = e.decision, locked[e.member_id]
        changed = _changes(e)
        before_tier = e.previous.tier if e.previous is not None else e.member_tier
        tier_from = before_tier if d.tier != before_tier and trigger != "admission" else None
        if tier_from is not None:
            migrations.append((e.name, tier_from, d.tier))
            publish_member_event(
                s,
                EventType.CREDIT_TIER_CHANGED,
                e.name,
                {"tier_from": tier_from, "tier": d.tier, "score": d.assessment.score, "reasons": list(d.reasons)},
            )
        if d.credit_line != m.credit_line:
            line_changes += 1
            publish_member_event(
                s,
                EventType.CREDIT_LINE_CHANGED,
                e.name,
                {
                    "credit_line_from": str(m.credit_line),
                    "credit_line": str(d.credit_line),
                    "chain_limit": str(d.chain_limit),
                    "source": d.source,
                },
            )
        m.tier, m.credit_line, m.tier_reasons = d.tier, d.credit_line, list(d.reasons)
        if changed:
            s.add(
                CreditScore(
                    member_id=e.member_id,
                    computed_at=now,
                    trigger=trigger,
                    score=d.assessment.score,
                    score_tier=d.score_tier,
                    tier=d.tier,
                    tier_from=tier_from,
                    credit_line=d.credit_line,
                    chain_limit=d.chain_limit,
                    source=d.source,
                    formula=d.formula[:512],
                    factors=factors_json(d, policy),
                    reasons=list(d.reasons),
                    inputs=inputs_json(e.inputs),
                    state=state_json(d.state),
                    changed=changed,
                    override_id=e.override_id,
                )
            )
            recorded += 1
        if d.frozen:
            draws.shorten(s, e.member_id, now + timedelta(days=policy.tiering.policies[d.tier].repayment_days))
    for e in evaluations:
        target = e.decision.chain_limit
        if target != planned.get(e.member_id, e.chain_credit_limit):
            items.append(outbox.plan(s, outbox.SET_CREDIT_LIMIT, member_id=e.member_id, amount=target))
    result = RescoreResult(
        members=len(evaluations),
        recorded=recorded,
        line_changes=line_changes,
        chain_updates=len(items),
        migrations=tuple(migrations),
    )
    return items, result


def rescore_in(
    s: Session,
    policy: CreditPolicy,
    now: datetime,
    *,
    trigger: str,
    member_ids: Sequence[int] | None = None,
    initial: Mapping[int, TierState] | None = None,
) -> tuple[list[outbox.OutboxItem], RescoreResult]:
    """Rescore in the caller's unit of work (it commits, then sends the returned outbox rows)."""
    credit_store.lock_rescoring(s)
    overrides.expire(s, now, member_ids)
    draws.track(s, now, policy.tiering.policies, member_ids)
    s.flush()
    return apply(s, evaluate(s, now, policy, member_ids, initial), trigger=trigger, now=now, policy=policy)


def rescore(
    ctx: ServiceContext, *, trigger: str = "schedule", member_ids: Sequence[int] | None = None
) -> RescoreResult:
    """Rescore every member (or ``member_ids``), apply and record what changed, send the chain's new limits."""
    policy = policy_of(ctx.settings)
    with ctx.uow() as uow:
        items, result = rescore_in(uow.session, policy, ctx.clock(), trigger=trigger, member_ids=member_ids)
        uow.commit()
    ctx.outbox.dispatch(items)
    return result


def after_cycle(ctx: ServiceContext, cycle_id: int) -> None:
    """The cycle service's hook: a settled cycle changes volumes, on-time counts and drawings of credit."""
    rescore(ctx, trigger="cycle")
