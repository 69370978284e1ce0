"""Receivables financing: a creditor member quotes and takes an advance on its pending credit in a committed
cycle; it reads its own advances, the operator all of them. Flow and rules: ``services/financing.py``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from clearing.api.deps import ContextDep, CurrentMember, MemberOrOperator
from clearing.api.schemas.common import problem_responses
from clearing.api.schemas.financing import CYCLE_ID_MAX, AdvanceIn, AdvanceOut, QuoteOut
from clearing.services import financing, financing_views

router = APIRouter(prefix="/financing", tags=["financing"])

CycleQuery = Annotated[int, Query(ge=1, le=CYCLE_ID_MAX, description="A committed cycle")]


@router.get(
    "/quote",
    response_model=QuoteOut,
    summary="What the pool would advance you now on your credit pending in a cycle (no side effect)",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
def quote(cycle_id: CycleQuery, ctx: ContextDep, me: CurrentMember) -> QuoteOut:
    return QuoteOut.model_validate(financing.quote_for(ctx, me, cycle_id))


@router.post(
    "/advances",
    response_model=AdvanceOut,
    status_code=status.HTTP_201_CREATED,
    summary="Take an advance from the pool on your credit in a committed or the open cycle (idempotent by id)",
    description="Prices it as `GET /financing/quote` does and pays `advance` to your balance on chain; at release "
    "your credit repays the pool `advance + fee` first. On the OPEN cycle the advance is `scheduled`: it is paid "
    "when the cycle commits into escrow (priced again on the committed credit, never above these terms), and "
    "`lapsed` if the cycle settles at once (your credit is paid in full), aborts, or no longer backs it. "
    "409 `advance-refused` names what stops it (`cycle_id`: not "
    "committed, held, nothing pending, tier backs nothing; `pool`: not enough liquidity), `advance-exists` when the "
    "cycle already carries one of yours.",
    responses=problem_responses(401, 403, 404, 409, 422, 502, 503),
)
def take(body: AdvanceIn, ctx: ContextDep, me: CurrentMember) -> AdvanceOut:
    return AdvanceOut.model_validate(financing.request(ctx, me, body.id, body.cycle_id))


@router.get(
    "/advances",
    response_model=list[AdvanceOut],
    summary="Advances, newest first: a member's own, or every one (operator)",
    responses=problem_responses(401, 403),
)
def advances(
    ctx: ContextDep,
    who: MemberOrOperator,
    cycle_id: Annotated[int | None, Query(ge=1, le=CYCLE_ID_MAX)] = None,
) -> list[AdvanceOut]:
    return [AdvanceOut.model_validate(a) for a in financing_views.list_advances(ctx, who, cycle_id=cycle_id)]
