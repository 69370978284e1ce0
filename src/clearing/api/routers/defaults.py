"""Member defaults: operators declare and cure them and read them all; a member reads its own."""

from __future__ import annotations

from fastapi import APIRouter, Query, status

from clearing.api.deps import ContextDep, CurrentMember, Operator
from clearing.api.schemas.common import problem_responses
from clearing.api.schemas.defaults import CureIn, DefaultIn, DefaultOut
from clearing.api.schemas.text import MemberNameParam
from clearing.services import defaults

router = APIRouter(tags=["defaults"])

_ACTIVE = Query(False, description="Only members in default now (not cured)")


@router.get(
    "/members/me/default",
    response_model=DefaultOut,
    summary="Your newest default, if you were ever declared in default: the waterfall's steps and the cure",
    responses=problem_responses(401, 403, 404),
)
def my_default(ctx: ContextDep, me: CurrentMember) -> DefaultOut:
    return DefaultOut.model_validate(defaults.of_member(ctx, me))


@router.get(
    "/defaults",
    response_model=list[DefaultOut],
    summary="Every default, newest first (operator)",
    responses=problem_responses(401, 403),
)
def list_defaults(ctx: ContextDep, op: Operator, active: bool = _ACTIVE) -> list[DefaultOut]:
    return [DefaultOut.model_validate(d) for d in defaults.list_defaults(ctx, active=active)]


@router.get(
    "/members/{name}/default",
    response_model=DefaultOut,
    summary="A member's newest default (operator)",
    responses=problem_responses(401, 403, 404),
)
def member_default(name: MemberNameParam, ctx: ContextDep, op: Operator) -> DefaultOut:
    return DefaultOut.model_validate(defaults.of_member(ctx, op, name))


@router.post(
    "/members/{name}/default",
    response_model=DefaultOut,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Declare a member in default, with a reason (operator, audited)",
    description="Suspends the member (new obligations with it as debtor are held), queues declareDefault and "
    "then allocateDefaultLoss on chain (its loss covered by its free collateral, its pledged assets, its "
    "receivables pending in committed cycles, then the pool's lenders pro rata), opens the `member_defaulted` "
    "alerts and publishes `member.defaulted`. `state` says how far the chain has got; `steps` fill in from the "
    "chain's events. 409 when it is in default already (the problem's `values.default` is that record).",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def declare(name: MemberNameParam, body: DefaultIn, ctx: ContextDep, op: Operator) -> DefaultOut:
    return DefaultOut.model_validate(defaults.declare(ctx, name, body.reason, defaults.OPERATOR, op.actor))


@router.post(
    "/members/{name}/cure",
    response_model=DefaultOut,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Restore a member in default that has repaid everything (operator, audited)",
    description="The member repays by depositing from its own wallet (a deposit repays the lenders first). 409 "
    "unless it is in default, its waterfall has run, and the chain shows its balance ≥ 0 and nothing owed to "
    "the pool. Queues cureDefault, makes the member active again, resolves its alerts, publishes `member.cured`. "
    "The default stays on its credit record.",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
def cure(name: MemberNameParam, body: CureIn, ctx: ContextDep, op: Operator) -> DefaultOut:
    return DefaultOut.model_validate(defaults.cure(ctx, name, body.reason, op.actor))
