"""Members submit and read their obligations."""

from __future__ import annotations

import asyncio
from collections import Counter

from fastapi import APIRouter, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from clearing.api.deps import ContextDep, CurrentMember, GroupDep, PrincipalDep
from clearing.api.schemas.common import problem_responses
from clearing.api.schemas.holds import HoldOut
from clearing.api.schemas.obligations import (
    BatchIn,
    BatchItemOut,
    BatchOut,
    ObligationIn,
    ObligationOut,
    SubmitOut,
)
from clearing.api.schemas.text import ObligationIdParam, SubmitterParam
from clearing.errors import ValidationError
from clearing.services import submission as svc
from clearing.services.holds import HoldView

router = APIRouter(prefix="/obligations", tags=["obligations"])


def _input(o: ObligationIn) -> svc.ObligationInput:
    return svc.ObligationInput(
        id=o.id,
        debtor=o.debtor,
        creditor=o.creditor,
        amount=o.amount,
        reference=o.reference,
        on_behalf_of=o.on_behalf_of,
        signature=o.signature,
        merchant_signature=o.merchant_signature,
    )


def _out(view: svc.ObligationView) -> ObligationOut:
    return ObligationOut.model_validate(view)


@router.post(
    "",
    response_model=SubmitOut,
    status_code=status.HTTP_201_CREATED,
    summary="Submit one obligation (idempotent by id, per member)",
    description=(
        "The debtor submits, or the creditor with the debtor's EIP-712 signature. The id is yours: unique among "
        "the obligations you submit, whatever other members use. 201 when recorded; 200 with the stored "
        "obligation when you recorded the same id and body before; 409 when you used the id with another body. "
        "Outcome in `obligation.status`: accepted, held (with holds), escrow (tier C), or queued_beyond_headroom "
        "(with `shortfall`). When `on_behalf_of` names a merchant's credit line at the debtor, the merchant's "
        "`merchant_signature` is required, the line must be active and the amount must fit what it has left "
        "(409 `merchant-line-frozen` / `merchant-line-exhausted`, naming the field)."
    ),
    responses={
        200: {"model": SubmitOut, "description": "A retry: the first result"},
        **problem_responses(401, 403, 409, 422, 503),
    },
)
async def submit_one(body: ObligationIn, ctx: ContextDep, me: CurrentMember, group: GroupDep) -> Response:
    if group is not None:
        result = await asyncio.wrap_future(group.submit(me, _input(body)))
    else:
        [result] = await run_in_threadpool(svc.submit, ctx, me, [_input(body)], batch=False)
    out = SubmitOut(replayed=result.replayed, obligation=_out(result.obligation))
    return _json(out, status.HTTP_200_OK if result.replayed else status.HTTP_201_CREATED)


def _json(model: BaseModel, status_code: int = 200) -> Response:
    """Serialise once with pydantic (response_model stays for the OpenAPI schema only)."""
    return Response(model.model_dump_json(), status_code=status_code, media_type="application/json")


@router.post(
    "/batch",
    response_model=BatchOut,
    summary="Submit up to 10,000 obligations in one transaction",
    description=(
        "All or nothing for request errors: any malformed item, unknown member, missing/bad signature or "
        "id you reused with another body rejects the whole batch (422, or 409 if every problem is an id "
        "conflict) and the problem's `errors` list every bad item with its index. Business outcomes are per "
        "item: accepted, held, escrow, queued_beyond_headroom (with shortfall). Items you already recorded "
        "with the same body come back with `replayed: true`."
    ),
    responses=problem_responses(401, 403, 409, 422, 503),
)
def submit_batch(body: BatchIn, ctx: ContextDep, me: CurrentMember) -> Response:
    limit = ctx.settings.api.max_batch
    if len(body.items) > limit:
        raise ValidationError(
            f"a batch holds at most {limit} obligations, got {len(body.items)}",
            field="items",
            limit=limit,
            count=len(body.items),
        )
    results = svc.submit(ctx, me, [_input(o) for o in body.items], batch=True)
    items = [
        BatchItemOut(
            index=r.index,
            replayed=r.replayed,
            id=r.obligation.id,
            status=r.obligation.status,
            shortfall=r.obligation.shortfall,
            holds=[h for h in map(_hold, r.obligation.holds)],
        )
        for r in results
    ]
    counts = Counter(i.status for i in items)
    return _json(BatchOut(count=len(items), counts=dict(counts), replayed=sum(i.replayed for i in items), items=items))


def _hold(h: HoldView) -> HoldOut:
    return HoldOut.model_validate(h)


@router.get(
    "/{obligation_id}",
    response_model=ObligationOut,
    summary="One obligation by its id: a member's own (as debtor or creditor); any for operators and auditors",
    description=(
        "Ids are unique per submitting member. A member finds the obligation it submitted with that id, else "
        "the one its counterparty submitted with it (`submitter` names which where there are several); others' "
        "obligations are 404. Operators and auditors name the submitter (`submitter`, name or address) where "
        "several members used the id: without it that is a 422 naming `submitter`, listing them."
    ),
    responses=problem_responses(401, 403, 404, 422),
)
def get_obligation(
    obligation_id: ObligationIdParam, ctx: ContextDep, who: PrincipalDep, submitter: SubmitterParam | None = None
) -> ObligationOut:
    return _out(svc.get(ctx, who, obligation_id, submitter))
