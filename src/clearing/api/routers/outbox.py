"""The outbox: what the house has still to send or see mined (operators)."""

from __future__ import annotations

from fastapi import APIRouter, Query

from clearing.api.deps import ContextDep, Operator
from clearing.api.schemas.common import problem_responses
from clearing.api.schemas.outbox import StuckOut, StuckRowOut
from clearing.services import writer

router = APIRouter(prefix="/outbox", tags=["outbox"])


@router.get(
    "/stuck",
    response_model=StuckOut,
    summary="Transactions pending longer than the threshold, oldest first",
    description="House transactions (admissions, limits, cycle steps, operator actions) planned or sent "
    "but not mined for longer than CLEARING_WRITER__STUCK_SECONDS, with their nonce, every hash signed "
    "for it and the last error. The chain writer keeps trying them; GET /health counts them.",
    responses=problem_responses(401, 403),
)
def stuck(ctx: ContextDep, op: Operator, limit: int = Query(100, ge=1, le=1000)) -> StuckOut:
    health = writer.outbox_health(ctx)
    rows = writer.stuck_rows(ctx, limit=limit)
    return StuckOut(
        stuck_after_seconds=health.stuck_after_seconds,
        count=health.stuck,
        rows=[
            StuckRowOut(
                id=r.id,
                kind=r.kind,
                state=r.state,  # type: ignore[arg-type]
                member=r.member,
                cycle_id=r.cycle_id,
                created_at=r.created_at,
                age_seconds=r.age_seconds,
                nonce=r.nonce,
                tx_hash=r.tx_hash,
                hashes=list(r.hashes),
                error=r.error,
            )
            for r in rows
        ],
    )
