"""The credit pool for lenders: status, a lender's position, the queue, and the transactions a lender's wallet signs.

No API key: everything served is public on chain, and preparing a call moves
nothing (the lender's wallet signs and sends it; the house never holds a
lender's funds or key).
"""

from __future__ import annotations

from fastapi import APIRouter, Query

from clearing.api.deps import ContextDep
from clearing.api.schemas.common import UnsignedTxOut, problem_responses
from clearing.api.schemas.pool import (
    CancelIn,
    DepositIn,
    LenderOut,
    PoolOut,
    PoolWithdrawalIn,
    PreparedOut,
    QueueIn,
    QueueOut,
    RedeemIn,
)
from clearing.services import pool as svc

router = APIRouter(prefix="/pool", tags=["pool"])
_ADDRESS = r"^0x[0-9a-fA-F]{40}$"
_SIGN = "Nothing is recorded or sent: sign and send them in order from the lender's wallet."


def _prepared(p: svc.Prepared) -> PreparedOut:
    return PreparedOut(
        transactions=[UnsignedTxOut.model_validate(t) for t in p.transactions],
        lender=LenderOut.model_validate(p.lender),
    )


@router.get(
    "",
    response_model=PoolOut,
    summary="The pool: total, drawn, utilisation, shares and price, rates, queue; with ?lender=, its position",
    responses=problem_responses(422, 502, 503),
)
def status(
    ctx: ContextDep,
    lender: str | None = Query(default=None, pattern=_ADDRESS, description="A lender's wallet address"),
) -> PoolOut:
    view = svc.status(ctx)
    out = PoolOut.model_validate(view)
    if lender is not None:
        out.lender = LenderOut.model_validate(svc.lender(ctx, lender, view))
    return out


@router.get(
    "/withdrawals",
    response_model=QueueOut,
    summary="The withdrawal queue in payment order (paid as members repay; the house's keeper pays it)",
    responses=problem_responses(422, 502, 503),
)
def withdrawals(
    ctx: ContextDep,
    after: int | None = Query(default=None, ge=0, le=2**63 - 1, description="Start at this request id"),
    limit: int = Query(default=50, ge=1, le=svc.MAX_PAGE, description="Request slots read"),
) -> QueueOut:
    return QueueOut.model_validate(svc.queue(ctx, after=after, limit=limit))


@router.post(
    "/prepare-deposit",
    response_model=PreparedOut,
    summary="The transactions that lend to the pool: approve (if needed), then poolDeposit",
    description=f"{_SIGN} 409 when the lender's token balance is short, the amount would mint no share, or the "
    "house is paused.",
    responses=problem_responses(409, 422, 502, 503),
)
def prepare_deposit(body: DepositIn, ctx: ContextDep) -> PreparedOut:
    return _prepared(svc.prepare_deposit(ctx, body.lender, body.amount))


@router.post(
    "/prepare-withdrawal",
    response_model=PreparedOut,
    summary="The transaction that takes assets out of the pool: poolWithdraw (shares burned rounded up)",
    description=f"{_SIGN} 409 naming `amount` when it exceeds the lender's assets, the undrawn part of the pool "
    "(`values.available`), or when other requests wait in the queue; the refusal gives `values.shares_to_queue`, "
    "the shares to queue instead with POST /pool/prepare-queue.",
    responses=problem_responses(409, 422, 502, 503),
)
def prepare_withdrawal(body: PoolWithdrawalIn, ctx: ContextDep) -> PreparedOut:
    return _prepared(svc.prepare_withdrawal(ctx, body.lender, body.amount, body.to))


@router.post(
    "/prepare-redeem",
    response_model=PreparedOut,
    summary="The transaction that burns shares for assets: poolRedeem (assets paid rounded down)",
    description=f"{_SIGN} 409 naming `shares` as POST /pool/prepare-withdrawal names `amount`.",
    responses=problem_responses(409, 422, 502, 503),
)
def prepare_redeem(body: RedeemIn, ctx: ContextDep) -> PreparedOut:
    return _prepared(svc.prepare_redeem(ctx, body.lender, body.shares, body.to))


@router.post(
    "/prepare-queue",
    response_model=PreparedOut,
    summary="The transaction that queues shares for withdrawal: requestWithdrawal",
    description=f"{_SIGN} Queued shares keep earning interest and bearing losses until paid, in order, as "
    "liquidity returns. 409 naming `shares` when the lender holds fewer.",
    responses=problem_responses(409, 422, 502, 503),
)
def prepare_queue(body: QueueIn, ctx: ContextDep) -> PreparedOut:
    return _prepared(svc.prepare_queue(ctx, body.lender, body.shares))


@router.post(
    "/prepare-cancel",
    response_model=PreparedOut,
    summary="The transaction that cancels a queued request: cancelWithdrawal (its rest comes back)",
    description=f"{_SIGN} 404 naming `id` for a request never made; 409 when it is not the lender's or is "
    "already paid or cancelled.",
    responses=problem_responses(404, 409, 422, 502, 503),
)
def prepare_cancel(body: CancelIn, ctx: ContextDep) -> PreparedOut:
    return _prepared(svc.prepare_cancel(ctx, body.lender, body.id))
