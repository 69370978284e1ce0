"""Operators review held obligations."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query

from clearing.api.deps import ContextDep, Operator
from clearing.api.schemas.common import problem_responses
from clearing.api.schemas.holds import HoldOut, ReviewIn, ReviewOut
from clearing.api.schemas.text import RowId
from clearing.services import holds as svc

router = APIRouter(prefix="/holds", tags=["holds"])


@router.get(
    "",
    response_model=list[HoldOut],
    summary="Holds (default: open ones), each naming its rule",
    responses=problem_responses(401, 403),
)
def list_holds(
    ctx: ContextDep, op: Operator, status: Literal["open", "released", "rejected", "all"] = Query("open")
) -> list[HoldOut]:
    rows = svc.list_holds(ctx, status=None if status == "all" else status)
    return [HoldOut.model_validate(r) for r in rows]


@router.post(
    "/{hold_id}/review",
    response_model=ReviewOut,
    summary="Release or reject a hold, with a reason (audited)",
    description="Release runs the headroom check: the obligation becomes accepted, escrow or "
    "queued_beyond_headroom. Reject rejects the obligation.",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def review(hold_id: RowId, body: ReviewIn, ctx: ContextDep, op: Operator) -> ReviewOut:
    r = svc.review(ctx, op, hold_id, decision=body.decision, reason=body.reason)
    return ReviewOut(hold=HoldOut.model_validate(r.hold), decision=r.decision, obligation_status=r.obligation_status)
