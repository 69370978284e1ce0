"""Credit: a member's score, tier and line and why (its own; operators: anyone's), every member's score,
tier migrations, operator overrides, rescoring on request."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from clearing.api.deps import ContextDep, CurrentMember, Operator
from clearing.api.schemas.common import problem_responses
from clearing.api.schemas.credit import (
    CreditOut,
    MigrationOut,
    MigrationSummaryOut,
    OverrideIn,
    OverrideOut,
    RescoreIn,
    RescoreOut,
    ScoreOut,
)
from clearing.api.schemas.text import MemberNameParam, NoNul
from clearing.services import credit

router = APIRouter(tags=["credit"])

_NAME = r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"
_CREDIT = (
    "The score and each factor with its value, its points and the rule that gave them; the tier and what set it "
    "(score, provisional, override); the line with its formula, the 30% cap, what is drawn and by when it is due; "
    "what would raise the score; what the next tier needs; the history (what changed, when, why)."
)


def credit_out(v: credit.CreditView) -> CreditOut:
    return CreditOut.model_validate(v)


@router.get(
    "/members/me/credit",
    response_model=CreditOut,
    summary="Your credit: score and why, tier, line and its formula, what would raise it, history",
    description=_CREDIT,
    responses=problem_responses(401, 403),
)
def my_credit(ctx: ContextDep, me: CurrentMember) -> CreditOut:
    return credit_out(credit.credit_of(ctx, me.member_id))  # type: ignore[arg-type]


@router.get(
    "/members/{name}/credit",
    response_model=CreditOut,
    summary="A member's credit (operator)",
    description=_CREDIT,
    responses=problem_responses(401, 403, 404),
)
def member_credit(name: MemberNameParam, ctx: ContextDep, op: Operator) -> CreditOut:
    return credit_out(credit.credit_of(ctx, credit.member_id_of(ctx, name)))


@router.post(
    "/members/{name}/credit/override",
    response_model=CreditOut,
    status_code=status.HTTP_201_CREATED,
    summary="Pin a member's tier and/or line until a time, with a reason (operator, audited)",
    description="The pin replaces any override in force and applies at once (the member is rescored; a line "
    "change reaches the chain through the outbox). A line above the member's cap (30% of its average monthly "
    "volume, or its provisional bound) is 422 credit-line-above-cap naming credit_line unless above_cap is true. "
    "The member sees the pin and its reason as an override.",
    responses=problem_responses(401, 403, 404, 422),
)
def pin(name: MemberNameParam, body: OverrideIn, ctx: ContextDep, op: Operator) -> CreditOut:
    return credit_out(
        credit.override(
            ctx,
            op,
            name,
            tier=body.tier,
            credit_line=body.credit_line,
            above_cap=body.above_cap,
            reason=body.reason,
            expires_at=body.expires_at,
        )
    )


@router.delete(
    "/members/{name}/credit/override",
    response_model=CreditOut,
    summary="End a member's override in force (operator, audited); the score decides again at once",
    responses=problem_responses(401, 403, 404, 422),
)
def unpin(
    name: MemberNameParam,
    ctx: ContextDep,
    op: Operator,
    reason: Annotated[str, NoNul("reason"), Query(min_length=1, max_length=512, description="Why (audited)")],
) -> CreditOut:
    return credit_out(credit.end_override(ctx, op, name, reason=reason))


@router.get(
    "/credit/scores",
    response_model=list[ScoreOut],
    summary="Every member's score, tier and line (operator)",
    responses=problem_responses(401, 403),
)
def scores(ctx: ContextDep, op: Operator) -> list[ScoreOut]:
    return [ScoreOut.model_validate(r) for r in credit.scores(ctx)]


@router.get(
    "/credit/migrations",
    response_model=list[MigrationOut],
    summary="Tier migrations, newest first (operator)",
    responses=problem_responses(401, 403),
)
def migrations(
    ctx: ContextDep,
    op: Operator,
    limit: int = Query(200, ge=1, le=1000),
    member: str | None = Query(default=None, pattern=_NAME, max_length=64, description="Only this member"),
) -> list[MigrationOut]:
    return [MigrationOut.model_validate(m) for m in credit.migrations(ctx, limit=limit, member=member)]


@router.get(
    "/credit/overrides",
    response_model=list[OverrideOut],
    summary="Overrides of every member, newest first (operator)",
    responses=problem_responses(401, 403),
)
def overrides(
    ctx: ContextDep, op: Operator, active: bool = Query(False, description="Only those in force")
) -> list[OverrideOut]:
    return [OverrideOut.model_validate(o) for o in credit.override_list(ctx, active_only=active)]


@router.post(
    "/credit/rescore",
    response_model=RescoreOut,
    summary="Rescore one member or all now (operator); the scheduler and every settled cycle do it too",
    responses=problem_responses(401, 403, 404, 422),
)
def rescore(ctx: ContextDep, op: Operator, body: RescoreIn | None = None) -> RescoreOut:
    r = credit.rescore_now(ctx, op, body.member if body is not None else None)
    return RescoreOut(
        members=r.members,
        recorded=r.recorded,
        line_changes=r.line_changes,
        chain_updates=r.chain_updates,
        migrations=[MigrationSummaryOut(member=m, from_tier=f, to_tier=t) for m, f, t in r.migrations],
    )
