"""What members and operators read of credit: the score and why, the line and its formula, what would
raise it, the history; every member's score, the tier migrations, the overrides."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from clearing.adapters.db.models import CreditScore, Member
from clearing.domain.credit import CreditInputs, improvements
from clearing.domain.tiering import TierState, average_volume, line_cap
from clearing.errors import NotFound
from clearing.services.context import ServiceContext
from clearing.services.credit import draws, overrides
from clearing.services.credit.policy import CreditPolicy, policy_of
from clearing.services.credit.rescore import evaluate, factors_json, inputs_from_json, latest, state_of


@dataclass(frozen=True, slots=True)
class FactorView:
    name: str
    value: int
    points: int
    rule: str


@dataclass(frozen=True, slots=True)
class ImprovementView:
    factor: str
    action: str
    points: int


@dataclass(frozen=True, slots=True)
class LineView:
    amount: int
    formula: str
    #: 30% of the average monthly volume: the most an earned line may be.
    cap: int
    average_monthly_volume: int
    months: int
    chain_limit: int
    drawn: int
    #: The line is below what is drawn: no new credit until the drawn part is repaid (by its deadlines).
    frozen: bool
    draws: tuple[draws.DrawView, ...]


@dataclass(frozen=True, slots=True)
class HistoryView:
    id: int
    computed_at: datetime
    trigger: str
    score: int
    score_tier: str
    tier: str
    tier_from: str | None
    credit_line: int
    chain_limit: int
    source: str
    changed: tuple[str, ...]
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CreditView:
    member: str
    score: int
    tier: str
    #: Where the score alone (with hysteresis) puts the member; ``tier`` differs under a pin.
    score_tier: str
    source: str
    provisional: bool
    pending_tier: str | None
    #: Days the score has qualified for ``pending_tier`` (a promotion needs ``credit.promote_after_days``).
    qualifying_days: int
    factors: tuple[FactorView, ...]
    reasons: tuple[str, ...]
    improvements: tuple[ImprovementView, ...]
    next_tier: str | None
    line: LineView
    override: overrides.OverrideView | None
    history: tuple[HistoryView, ...]
    computed_at: datetime
    #: False when the member was never scored yet: this is a fresh assessment, not stored.
    recorded: bool


@dataclass(frozen=True, slots=True)
class ScoreRow:
    member: str
    score: int
    tier: str
    score_tier: str
    credit_line: int
    chain_limit: int
    source: str
    provisional: bool
    override: bool
    computed_at: datetime


@dataclass(frozen=True, slots=True)
class MigrationView:
    id: int
    member: str
    from_tier: str
    to_tier: str
    score: int
    trigger: str
    reasons: tuple[str, ...]
    computed_at: datetime


def history_view(r: CreditScore) -> HistoryView:
    return HistoryView(
        id=r.id,
        computed_at=r.computed_at,
        trigger=r.trigger,
        score=r.score,
        score_tier=r.score_tier,
        tier=r.tier,
        tier_from=r.tier_from,
        credit_line=r.credit_line,
        chain_limit=r.chain_limit,
        source=r.source,
        changed=tuple(r.changed or ()),
        reasons=tuple(r.reasons or ()),
    )


def qualifying_days(state: TierState, age_days: int) -> int:
    return age_days - state.pending_since if state.pending_since is not None else 0


def next_tier(tier: str, state: TierState, age_days: int, policy: CreditPolicy) -> str | None:
    """What the next tier up needs, and how far the member is."""
    if tier == "A":
        return None
    target = "A" if tier == "B" else "B"
    cc, t = policy.score, policy.tiering
    bar = (cc.tier_a_min_score if target == "A" else cc.tier_b_min_score) + t.promote_margin
    extra = f", no defaults and an account at least {cc.tier_a_min_age_days} days old" if target == "A" else ""
    days = qualifying_days(state, age_days)
    progress = f" (so far {days} days)" if state.pending_tier == target else ""
    return f"tier {target} needs a score ≥ {bar} for {t.promote_after_days} days{extra}{progress}"


@dataclass(frozen=True, slots=True)
class _Snapshot:
    score: int
    tier: str
    score_tier: str
    source: str
    credit_line: int
    chain_limit: int
    formula: str
    factors: tuple[FactorView, ...]
    reasons: tuple[str, ...]
    inputs: CreditInputs
    state: TierState
    computed_at: datetime
    recorded: bool


def _factor(f: dict[str, object]) -> FactorView:
    return FactorView(str(f["name"]), int(str(f["value"])), int(str(f["points"])), str(f.get("rule", "")))


def _snapshot(s: Session, m: Member, policy: CreditPolicy, now: datetime) -> _Snapshot:
    row = latest(s, [m.id]).get(m.id)
    if row is not None:
        return _Snapshot(
            score=row.score,
            tier=row.tier,
            score_tier=row.score_tier,
            source=row.source,
            credit_line=row.credit_line,
            chain_limit=row.chain_limit,
            formula=row.formula,
            factors=tuple(_factor(f) for f in row.factors or ()),
            reasons=tuple(row.reasons or ()),
            inputs=inputs_from_json(row.inputs or {}),
            state=state_of(row, row.score_tier),
            computed_at=row.computed_at,
            recorded=True,
        )
    [ev] = evaluate(s, now, policy, [m.id])  # never scored yet: assess it now, store nothing
    d = ev.decision
    return _Snapshot(
        score=d.assessment.score,
        tier=d.tier,
        score_tier=d.score_tier,
        source=d.source,
        credit_line=d.credit_line,
        chain_limit=d.chain_limit,
        formula=d.formula,
        factors=tuple(_factor(f) for f in factors_json(d, policy)),
        reasons=d.reasons,
        inputs=ev.inputs,
        state=d.state,
        computed_at=now,
        recorded=False,
    )


def credit_of(ctx: ServiceContext, member_id: int, *, history: int = 50) -> CreditView:
    """A member's credit as it applies now, with every reason (``GET /members/me/credit``)."""
    policy, now = policy_of(ctx.settings), ctx.clock()
    with ctx.uow(read_only=True) as uow:
        s = uow.session
        m = s.get(Member, member_id)
        if m is None:
            raise NotFound("member not found", field="name")
        snap = _snapshot(s, m, policy, now)
        vols = snap.inputs.monthly_volumes
        drawn = max(0, -m.chain_balance)
        pin = overrides.in_force(s, now, [m.id]).get(m.id)
        rows = s.scalars(
            select(CreditScore).where(CreditScore.member_id == m.id).order_by(CreditScore.id.desc()).limit(history)
        ).all()
        return CreditView(
            member=m.name,
            score=snap.score,
            tier=snap.tier,
            score_tier=snap.score_tier,
            source=snap.source,
            provisional=snap.state.provisional,
            pending_tier=snap.state.pending_tier,
            qualifying_days=qualifying_days(snap.state, snap.inputs.age_days),
            factors=snap.factors,
            reasons=snap.reasons,
            improvements=tuple(
                ImprovementView(i.factor, i.action, i.points) for i in improvements(snap.inputs, policy.score)
            ),
            next_tier=next_tier(snap.tier, snap.state, snap.inputs.age_days, policy),
            line=LineView(
                amount=snap.credit_line,
                formula=snap.formula,
                cap=line_cap(vols),
                average_monthly_volume=average_volume(vols),
                months=len(vols),
                chain_limit=snap.chain_limit,
                drawn=drawn,
                frozen=snap.credit_line < drawn,
                draws=tuple(draws.of_member(s, m.id, now)),
            ),
            override=overrides.view_of(pin, m.name, now) if pin is not None else None,
            history=tuple(history_view(r) for r in rows),
            computed_at=snap.computed_at,
            recorded=snap.recorded,
        )


def member_id_of(ctx: ServiceContext, name: str) -> int:
    with ctx.uow(read_only=True) as uow:
        mid = uow.session.scalar(select(Member.id).where(Member.name == name))
    if mid is None:
        raise NotFound(f"no member {name!r}", field="name", name=name)
    return int(mid)


def scores(ctx: ServiceContext) -> list[ScoreRow]:
    """Every scored member's current score, tier and line (``GET /credit/scores``)."""
    now = ctx.clock()
    with ctx.uow(read_only=True) as uow:
        s = uow.session
        names = dict(s.execute(select(Member.id, Member.name)).all())
        pinned = set(overrides.in_force(s, now))
        rows = sorted(latest(s).values(), key=lambda r: names.get(r.member_id, ""))
        return [
            ScoreRow(
                member=names[r.member_id],
                score=r.score,
                tier=r.tier,
                score_tier=r.score_tier,
                credit_line=r.credit_line,
                chain_limit=r.chain_limit,
                source=r.source,
                provisional=bool((r.state or {}).get("provisional", False)),
                override=r.member_id in pinned,
                computed_at=r.computed_at,
            )
            for r in rows
        ]


def latest_scores(ctx: ServiceContext) -> dict[int, int]:
    """Member id → its newest score: two columns of one query (the console's members table)."""
    newest = select(func.max(CreditScore.id)).group_by(CreditScore.member_id).scalar_subquery()
    q = select(CreditScore.member_id, CreditScore.score).where(CreditScore.id.in_(newest))
    with ctx.uow(read_only=True) as uow:
        return {int(m): int(score) for m, score in uow.session.execute(q)}


def migrations(ctx: ServiceContext, *, limit: int = 200, member: str | None = None) -> list[MigrationView]:
    """Tier migrations, newest first (``GET /credit/migrations``)."""
    with ctx.uow(read_only=True) as uow:
        s = uow.session
        q = (
            select(CreditScore, Member.name)
            .join(Member, Member.id == CreditScore.member_id)
            .where(CreditScore.tier_from.is_not(None))
        )
        if member is not None:
            q = q.where(Member.name == member)
        return [
            MigrationView(
                id=r.id,
                member=name,
                from_tier=str(r.tier_from),
                to_tier=r.tier,
                score=r.score,
                trigger=r.trigger,
                reasons=tuple(r.reasons or ()),
                computed_at=r.computed_at,
            )
            for r, name in s.execute(q.order_by(CreditScore.id.desc()).limit(limit))
        ]


def override_list(ctx: ServiceContext, *, active_only: bool = False) -> list[overrides.OverrideView]:
    """Every member's overrides, newest first (``GET /credit/overrides``)."""
    with ctx.uow(read_only=True) as uow:
        return overrides.listing(uow.session, active_only=active_only, now=ctx.clock())
