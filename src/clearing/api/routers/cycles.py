"""Cycles: operators open, close and settle; auditors and operators read.

Calls the cycle service of the context (``ServiceContext.cycles``); 503 when
the house has no chain.
"""

from __future__ import annotations

from fastapi import APIRouter, Query

from clearing.api.deps import Auditor, ContextDep, Operator
from clearing.api.schemas.common import problem_responses
from clearing.api.schemas.cycles import CycleOut
from clearing.api.schemas.text import RowId
from clearing.errors import ServiceUnavailable
from clearing.services.context import ServiceContext
from clearing.services.cycles import CycleService, CycleView

router = APIRouter(prefix="/cycles", tags=["cycles"])


def _service(ctx: ServiceContext) -> CycleService:
    if ctx.cycles is None:
        raise ServiceUnavailable("cycle settlement is not configured on this server (no chain)", field=None)
    return ctx.cycles


def cycle_out(c: CycleView) -> CycleOut:
    return CycleOut(
        id=c.id,
        state=c.state,
        root=c.root,
        gross=c.gross,
        settled_value=c.settled_value,
        obligations=c.obligations,
        settled=c.settled,
        carried=c.carried,
        commit_tx_hash=c.commit_tx_hash,
        release_tx_hash=c.release_tx_hash,
        positions=dict(c.positions),
        pending=dict(c.pending),
    )


@router.post(
    "",
    response_model=CycleOut,
    summary="Open a cycle (idempotent: returns the open one)",
    responses=problem_responses(401, 403, 503),
)
def open_cycle(ctx: ContextDep, op: Operator) -> CycleOut:
    return cycle_out(_service(ctx).open())


@router.post(
    "/{cycle_id}/close",
    response_model=CycleOut,
    summary="Cut-off: take eligible obligations into the cycle",
    responses=problem_responses(401, 403, 404, 503),
)
def close_cycle(cycle_id: RowId, ctx: ContextDep, op: Operator) -> CycleOut:
    return cycle_out(_service(ctx).close(cycle_id))


@router.post(
    "/{cycle_id}/settle",
    response_model=CycleOut,
    summary="Net, commit and release on chain (resumes where a previous attempt stopped)",
    responses=problem_responses(401, 403, 404, 409, 502, 503),
)
def settle_cycle(cycle_id: RowId, ctx: ContextDep, op: Operator) -> CycleOut:
    return cycle_out(_service(ctx).settle(cycle_id))


@router.get("", response_model=list[CycleOut], summary="Recent cycles", responses=problem_responses(401, 403, 503))
def list_cycles(ctx: ContextDep, who: Auditor, limit: int = Query(100, ge=1, le=1000)) -> list[CycleOut]:
    return [cycle_out(c) for c in _service(ctx).list(limit)]


@router.get(
    "/{cycle_id}",
    response_model=CycleOut,
    summary="One cycle with its net positions",
    responses=problem_responses(401, 403, 404, 503),
)
def get_cycle(cycle_id: RowId, ctx: ContextDep, who: Auditor) -> CycleOut:
    return cycle_out(_service(ctx).get(cycle_id))
