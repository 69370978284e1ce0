"""Release modes: commit a cycle into escrow, then release it in full, in part, pro rata or later, or refund it.

Operator keys act (each action audited and keyed by the operator's own
``id``); auditors read the escrow. Flow and rules: ``services/releases.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Body, Path

from clearing.api.deps import Auditor, ContextDep, Operator
from clearing.api.routers.cycles import cycle_out
from clearing.api.schemas.common import problem_responses
from clearing.api.schemas.cycles import CycleOut
from clearing.api.schemas.releases import (
    ActionOut,
    ActionResultOut,
    EscrowOut,
    HoldIn,
    RefundIn,
    ReleaseAllIn,
    ReleasePartialIn,
    ReleaseProRataIn,
)
from clearing.services import releases as svc

router = APIRouter(prefix="/cycles", tags=["cycles"])

#: Cycle ids are uint64 on chain; the ledger keys them as signed 64-bit.
CycleId = Annotated[int, Path(ge=1, le=2**63 - 1)]
_ACT = problem_responses(401, 403, 404, 409, 422, 502, 503)


def _time(ts: int) -> datetime | None:
    return datetime.fromtimestamp(ts, UTC) if ts else None


def escrow_out(e: svc.EscrowView) -> EscrowOut:
    return EscrowOut(
        cycle_id=e.cycle_id,
        state=e.state,
        release=e.release,
        escrowed=e.escrowed,
        held_until=_time(e.held_until),
        claimable_at=_time(e.claimable_at),
        chain_time=datetime.fromtimestamp(e.chain_time, UTC),
        pending=e.pending,
        refundable=e.refundable,
        actions=[ActionOut.model_validate(a) for a in e.actions],
    )


def _result(r: svc.ActionResult) -> ActionResultOut:
    return ActionResultOut(action=ActionOut.model_validate(r.action), escrow=escrow_out(r.escrow))


@router.post(
    "/{cycle_id}/commit",
    response_model=CycleOut,
    summary="Close, net and commit a cycle into escrow, for the operator to release (idempotent)",
    description="Unlike `/settle`, which pays creditors in the same call, this leaves each creditor's net credit "
    "pending in the cycle's escrow (state COMMITTED) until `/release`, `/release/partial`, `/release/pro-rata` or "
    "`/refund` empty it; `/hold` delays releases. A restart or a scheduled cut-off never releases such a cycle.",
    responses=problem_responses(401, 403, 404, 409, 422, 502, 503),
)
def commit(cycle_id: CycleId, ctx: ContextDep, op: Operator) -> CycleOut:
    return cycle_out(svc.commit(ctx, op, cycle_id))


@router.get(
    "/{cycle_id}/escrow",
    response_model=EscrowOut,
    summary="A cycle's escrow on chain: pending credit, refundable debit, hold, and the actions taken",
    responses=problem_responses(401, 403, 404, 422, 503),
)
def get_escrow(cycle_id: CycleId, ctx: ContextDep, who: Auditor) -> EscrowOut:
    return escrow_out(svc.escrow(ctx, cycle_id))


@router.post(
    "/{cycle_id}/release",
    response_model=ActionResultOut,
    summary="Release every creditor's whole pending credit (audited)",
    responses=_ACT,
)
def release_all(
    cycle_id: CycleId, ctx: ContextDep, op: Operator, body: Annotated[ReleaseAllIn | None, Body()] = None
) -> ActionResultOut:
    return _result(svc.release(ctx, op, cycle_id, request_id=body.id if body else None))


@router.post(
    "/{cycle_id}/release/partial",
    response_model=ActionResultOut,
    summary="Release chosen amounts of chosen creditors' pending credit (audited, idempotent by id)",
    responses=_ACT,
)
def release_partial(cycle_id: CycleId, body: ReleasePartialIn, ctx: ContextDep, op: Operator) -> ActionResultOut:
    return _result(svc.release(ctx, op, cycle_id, request_id=body.id, amounts=body.amounts))


@router.post(
    "/{cycle_id}/release/pro-rata",
    response_model=ActionResultOut,
    summary="Release the same share (basis points, rounded down) of each creditor's pending credit",
    responses=_ACT,
)
def release_pro_rata(cycle_id: CycleId, body: ReleaseProRataIn, ctx: ContextDep, op: Operator) -> ActionResultOut:
    return _result(svc.release_pro_rata(ctx, op, cycle_id, request_id=body.id, bps=body.bps, creditors=body.creditors))


@router.post(
    "/{cycle_id}/hold",
    response_model=ActionResultOut,
    summary="Hold the escrow until a time: no release or claim before it (refunds stay possible)",
    responses=_ACT,
)
def hold(cycle_id: CycleId, body: HoldIn, ctx: ContextDep, op: Operator) -> ActionResultOut:
    return _result(svc.hold(ctx, op, cycle_id, until=body.until, request_id=body.id))


@router.post(
    "/{cycle_id}/refund",
    response_model=ActionResultOut,
    summary="Cancel pending credit and return it to debtors (all that is left, or chosen amounts)",
    description="Without `cancel`/`refund` everything still pending goes back to the debtors in proportion to "
    "what each paid in (exact integers). With them, both are needed, with equal totals, and an `id`.",
    responses=_ACT,
)
def refund(
    cycle_id: CycleId, ctx: ContextDep, op: Operator, body: Annotated[RefundIn | None, Body()] = None
) -> ActionResultOut:
    b = body or RefundIn()
    return _result(svc.refund(ctx, op, cycle_id, request_id=b.id, cancel=b.cancel, refund=b.refund))
