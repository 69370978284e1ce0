"""The credit pool for lenders: status and the transactions a lender's own wallet signs.

No API key: everything served is public on chain, and preparing a call moves
nothing (the lender's wallet signs and sends it; the house never holds a
lender's funds or key).
"""

from __future__ import annotations

from fastapi import APIRouter, Query

from clearing.api.deps import ContextDep
from clearing.api.schemas.common import UnsignedTxOut, problem_responses
from clearing.api.schemas.pool import DepositIn, LenderOut, PoolOut, PoolWithdrawalIn, PreparedOut
from clearing.services import pool as svc

router = APIRouter(prefix="/pool", tags=["pool"])
_ADDRESS = r"^0x[0-9a-fA-F]{40}$"


def _prepared(p: svc.Prepared) -> PreparedOut:
    return PreparedOut(
        transactions=[UnsignedTxOut.model_validate(t) for t in p.transactions],
        lender=LenderOut.model_validate(p.lender),
    )


@router.get(
    "",
    response_model=PoolOut,
    summary="Pool total, drawn, available, utilisation; with ?lender=, that lender's position too",
    responses=problem_responses(422, 502, 503),
)
def status(
    ctx: ContextDep,
    lender: str | None = Query(default=None, pattern=_ADDRESS, description="A lender's wallet address"),
) -> PoolOut:
    out = PoolOut.model_validate(svc.status(ctx))
    if lender is not None:
        out.lender = LenderOut.model_validate(svc.lender(ctx, lender))
    return out


@router.post(
    "/prepare-deposit",
    response_model=PreparedOut,
    summary="The transactions that lend to the pool: approve (if needed), then poolDeposit",
    description="Nothing is recorded or sent: sign and send them in order from the lender's wallet. 409 when the "
    "lender's token balance is short.",
    responses=problem_responses(409, 422, 502, 503),
)
def prepare_deposit(body: DepositIn, ctx: ContextDep) -> PreparedOut:
    return _prepared(svc.prepare_deposit(ctx, body.lender, body.amount))


@router.post(
    "/prepare-withdrawal",
    response_model=PreparedOut,
    summary="The transaction that takes a lender's deposit back: poolWithdraw",
    description="Nothing is recorded or sent. 409 when the amount exceeds the lender's deposit or the undrawn "
    "part of the pool (`values.available`).",
    responses=problem_responses(409, 422, 502, 503),
)
def prepare_withdrawal(body: PoolWithdrawalIn, ctx: ContextDep) -> PreparedOut:
    return _prepared(svc.prepare_withdrawal(ctx, body.lender, body.amount, body.to))
