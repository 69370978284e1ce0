"""Tier-C order escrow: the order of a prepaid obligation, its funding transactions, and the actions on it.

A member's action is answered with the transaction for its own wallet; an
operator's is sent by the house (audited, idempotent by ``id``). Who may do
what is the contract's rule (``services/order_escrow.py``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Body, Path

from clearing.api.deps import ContextDep, PrincipalDep
from clearing.api.schemas.common import UnsignedTxOut, problem_responses
from clearing.api.schemas.orders import ClaimIn, OrderActionOut, OrderAmountIn, OrderOut, ResolveIn
from clearing.api.schemas.releases import ActionOut
from clearing.api.schemas.text import SubmitterParam
from clearing.services import order_escrow as svc

router = APIRouter(prefix="/obligations", tags=["escrow"])

ObligationId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")]
_ACT = problem_responses(401, 403, 404, 409, 422, 502, 503)


def order_out(o: svc.OrderView) -> OrderOut:
    return OrderOut(
        obligation_id=o.obligation_id,
        submitter=o.submitter,
        order_id=o.order_id,
        debtor=o.debtor,
        creditor=o.creditor,
        debtor_address=o.debtor_address,
        creditor_address=o.creditor_address,
        amount=o.amount,
        status=o.status,
        state=o.state,
        dispute_window=o.dispute_window,
        dispute_deadline=datetime.fromtimestamp(o.dispute_deadline, UTC) if o.dispute_deadline else None,
        remaining=o.remaining,
        released=o.released,
        refunded=o.refunded,
        funding=[UnsignedTxOut.model_validate(t) for t in o.funding],
        actions=[ActionOut.model_validate(a) for a in o.actions],
    )


def _result(r: svc.OrderActionResult) -> OrderActionOut:
    return OrderActionOut(
        order=order_out(r.order),
        transaction=UnsignedTxOut.model_validate(r.transaction) if r.transaction else None,
        action=ActionOut.model_validate(r.action) if r.action else None,
    )


@router.get(
    "/{obligation_id}/escrow",
    response_model=OrderOut,
    summary="A tier-C obligation's order escrow: its state on chain, and while unfunded the debtor's transactions",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
def get_order(
    obligation_id: ObligationId, ctx: ContextDep, who: PrincipalDep, submitter: SubmitterParam | None = None
) -> OrderOut:
    return order_out(svc.get(ctx, who, obligation_id, submitter))


@router.post(
    "/{obligation_id}/escrow/release",
    response_model=OrderActionOut,
    summary="Pay the creditor (all that remains, or `amount`): the debtor's wallet, or the operator",
    responses=_ACT,
)
def release(
    obligation_id: ObligationId,
    ctx: ContextDep,
    who: PrincipalDep,
    body: Annotated[OrderAmountIn | None, Body()] = None,
    submitter: SubmitterParam | None = None,
) -> OrderActionOut:
    b = body or OrderAmountIn()
    return _result(svc.act(ctx, who, obligation_id, "release", amount=b.amount, request_id=b.id, submitter=submitter))


@router.post(
    "/{obligation_id}/escrow/refund",
    response_model=OrderActionOut,
    summary="Return to the debtor (all that remains, or `amount`): the creditor's wallet, or the operator",
    responses=_ACT,
)
def refund(
    obligation_id: ObligationId,
    ctx: ContextDep,
    who: PrincipalDep,
    body: Annotated[OrderAmountIn | None, Body()] = None,
    submitter: SubmitterParam | None = None,
) -> OrderActionOut:
    b = body or OrderAmountIn()
    return _result(svc.act(ctx, who, obligation_id, "refund", amount=b.amount, request_id=b.id, submitter=submitter))


@router.post(
    "/{obligation_id}/escrow/dispute",
    response_model=OrderActionOut,
    summary="Dispute the order before its deadline (the debtor's wallet): claims stop until the operator rules",
    responses=_ACT,
)
def dispute(
    obligation_id: ObligationId, ctx: ContextDep, who: PrincipalDep, submitter: SubmitterParam | None = None
) -> OrderActionOut:
    return _result(svc.act(ctx, who, obligation_id, "dispute", submitter=submitter))


@router.post(
    "/{obligation_id}/escrow/resolve",
    response_model=OrderActionOut,
    summary="Rule on a disputed order (operator): split what remains between creditor and debtor",
    responses=_ACT,
)
def resolve(
    obligation_id: ObligationId,
    body: ResolveIn,
    ctx: ContextDep,
    who: PrincipalDep,
    submitter: SubmitterParam | None = None,
) -> OrderActionOut:
    split = (body.to_creditor, body.to_debtor)
    return _result(svc.act(ctx, who, obligation_id, "resolve", split=split, request_id=body.id, submitter=submitter))


@router.post(
    "/{obligation_id}/escrow/claim",
    response_model=OrderActionOut,
    summary="After the dispute deadline, pay the creditor all that remains (either party's wallet, or the operator)",
    responses=_ACT,
)
def claim(
    obligation_id: ObligationId,
    ctx: ContextDep,
    who: PrincipalDep,
    body: Annotated[ClaimIn | None, Body()] = None,
    submitter: SubmitterParam | None = None,
) -> OrderActionOut:
    request_id = body.id if body else None
    return _result(svc.act(ctx, who, obligation_id, "claim", request_id=request_id, submitter=submitter))
