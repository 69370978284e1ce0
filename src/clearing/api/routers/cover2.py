"""Cover 2: the loss if the two largest exposures default together, against the pool (operators)."""

from __future__ import annotations

from fastapi import APIRouter, Query

from clearing.api.deps import ContextDep, Operator
from clearing.api.schemas.common import problem_responses
from clearing.api.schemas.cover2 import Cover2BriefOut, Cover2Out, MemberStressOut, WhatIfOut
from clearing.domain.cover2 import Cover2
from clearing.services import cover2, stress

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


def _brief(c: Cover2) -> Cover2BriefOut:
    return Cover2BriefOut(loss=c.loss, resources=c.resources, covered=c.covered, members=[m.name for m in c.members])


_DAYS = Query(None, ge=1, le=31, description="Days ahead (default: the forecast horizon, 14)")
_DEMAND = Query(2.0, gt=0, le=stress.MAX_DEMAND, description="Multiple of the forecast demand the survivors run at")


@router.get(
    "/what-if",
    response_model=WhatIfOut,
    summary="Stress test (operator): the two largest exposures default now, then demand × N for the next days",
    description="Starts from Cover 2: the pool takes its loss; every other member's forecast paths of daily net flow "
    "are multiplied by `demand`; the answer is the credit they would draw from what is left of the pool (95th "
    "percentile per day), who runs past its line and what would avoid it, and Cover 2 among them at the end "
    "(docs/simulation.md). Nothing is stored. A house without a chain answers 503.",
    responses=problem_responses(401, 403, 422, 502, 503),
)
def what_if(ctx: ContextDep, op: Operator, days: int | None = _DAYS, demand: float = _DEMAND) -> WhatIfOut:
    out = stress.what_if(ctx, days=days, demand=demand)
    r = out.result
    return WhatIfOut(
        days=r.horizon,
        demand=r.demand,
        cover2_latest_id=None if out.cover2_latest is None else out.cover2_latest.id,
        cover2_now=_brief(r.cover2_now),
        defaulted=list(r.defaulted),
        loss=r.loss,
        pool_after=r.pool_after,
        pool_need_by_day=list(r.pool_need_by_day),
        pool_need_95=r.pool_need_95,
        pool_covers=r.pool_covers,
        members=[
            MemberStressOut(
                member=m.name,
                shortfall_probability=m.shortfall_probability,
                shortfall_day=m.shortfall_day,
                topup_95=m.topup_95,
                drawn_end_p50=m.drawn_end_p50,
                drawn_end_p95=m.drawn_end_p95,
            )
            for m in r.members
        ],
        cover2_after=_brief(r.cover2_after),
    )
