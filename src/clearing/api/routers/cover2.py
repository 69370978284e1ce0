"""Cover 2: the loss if the two largest exposures default together, against the pool (operators)."""

from __future__ import annotations

from fastapi import APIRouter

from clearing.api.deps import ContextDep, Operator
from clearing.api.schemas.common import problem_responses
from clearing.api.schemas.cover2 import Cover2Out
from clearing.services import cover2

router = APIRouter(prefix="/cover2", tags=["cover2"])

_HOW = (
    "Each member's exposure is max(0, credit drawn + net debit in flight in the open cycle − free collateral); "
    "the loss is the sum of the two largest, against the pool's equity. Computed after every cycle the house "
    "settles (docs/cover2.md)."
)


@router.get(
    "",
    response_model=Cover2Out,
    summary="The latest Cover 2 (operator); computed now if none exists yet",
    description=_HOW,
    responses=problem_responses(401, 403, 502, 503),
)
def latest(ctx: ContextDep, op: Operator) -> Cover2Out:
    return Cover2Out.model_validate(cover2.current(ctx))


@router.post(
    "/run",
    response_model=Cover2Out,
    summary="Compute Cover 2 now (operator, audited); its alert `cover2_uncovered` opens or resolves with it",
    description=_HOW + " A house without a chain answers 503.",
    responses=problem_responses(401, 403, 502, 503),
)
def run(ctx: ContextDep, op: Operator) -> Cover2Out:
    return Cover2Out.model_validate(cover2.compute(ctx, actor=op))
