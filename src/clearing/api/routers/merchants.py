"""Merchant credit lines: a platform grants, freezes and reads its merchants' lines and records repayments."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from clearing.api.deps import ContextDep, CurrentMember, MemberOrOperator
from clearing.api.schemas.common import problem_responses
from clearing.api.schemas.merchants import (
    MERCHANT_PATTERN,
    GrantIn,
    GrantOut,
    LineOut,
    RepaymentIn,
    RepaymentOut,
    StatementOut,
    StatusIn,
)
from clearing.services import merchants

router = APIRouter(prefix="/merchants", tags=["merchants"])

MerchantParam = Annotated[str, Path(min_length=1, max_length=128, pattern=MERCHANT_PATTERN)]
IssuerQuery = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=64,
        pattern=r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$",
        description="Operators: the platform that granted the line (merchant ids are unique per platform)",
    ),
]


@router.post(
    "",
    response_model=GrantOut,
    status_code=status.HTTP_201_CREATED,
    summary="Grant your merchant a credit line, or change it (signed by your member key)",
    description=(
        "The body is what you signed: `MerchantLine(issuer, merchant, signer, limit, nonce)` (EIP-712, domain "
        "and type from `GET /eip712?type=MerchantLine`; issuer is your member address). 201 for a new line; 200 "
        "for a change (nonce above the line's newest) or a retry of a grant recorded before (`replayed`); 409 for "
        "an older or reused nonce; 422 when the signature is not yours."
    ),
    responses={
        200: {"model": GrantOut, "description": "A change, or a retry"},
        **problem_responses(401, 403, 409, 422, 503),
    },
)
def grant(body: GrantIn, ctx: ContextDep, me: CurrentMember) -> Response:
    r = merchants.grant(
        ctx,
        me,
        merchant=body.merchant,
        signer=body.signer,
        limit=body.limit,
        nonce=body.nonce,
        signature=body.signature,
    )
    out = GrantOut.model_validate(r)
    code = status.HTTP_201_CREATED if r.created else status.HTTP_200_OK
    return Response(out.model_dump_json(), status_code=code, media_type="application/json")


@router.get(
    "",
    response_model=list[LineOut],
    summary="Your merchants' lines with limit, used and available (operators: every member's, or `member`'s)",
    responses=problem_responses(401, 403, 404, 422),
)
def list_lines(ctx: ContextDep, who: MemberOrOperator, member: IssuerQuery = None) -> list[LineOut]:
    return [LineOut.model_validate(v) for v in merchants.list_lines(ctx, who, member)]


@router.get(
    "/{merchant}",
    response_model=LineOut,
    summary="One of your merchants' lines (operators name the `member`)",
    responses=problem_responses(401, 403, 404, 422),
)
def get_line(merchant: MerchantParam, ctx: ContextDep, who: MemberOrOperator, member: IssuerQuery = None) -> LineOut:
    return LineOut.model_validate(merchants.get(ctx, who, merchant, member))


@router.post(
    "/{merchant}/status",
    response_model=LineOut,
    summary="Freeze a line (its purchases are refused) or make it active again",
    responses=problem_responses(401, 403, 404, 422),
)
def set_status(merchant: MerchantParam, body: StatusIn, ctx: ContextDep, me: CurrentMember) -> LineOut:
    return LineOut.model_validate(merchants.set_status(ctx, me, merchant, body.status))


@router.post(
    "/{merchant}/repayments",
    response_model=RepaymentOut,
    status_code=status.HTTP_201_CREATED,
    summary="Record what your merchant paid back (frees its line; idempotent by your repayment id)",
    description="201 when recorded; 200 for a retry with the same id and body; 409 for the id with another body; "
    "422 when the amount is more than the merchant owes on the line.",
    responses={200: {"model": RepaymentOut, "description": "A retry"}, **problem_responses(401, 403, 404, 409, 422)},
)
def repay(merchant: MerchantParam, body: RepaymentIn, ctx: ContextDep, me: CurrentMember) -> Response:
    r = merchants.repay(ctx, me, merchant, repayment_id=body.id, amount=body.amount, reference=body.reference)
    out = RepaymentOut.model_validate(r)
    code = status.HTTP_200_OK if r.replayed else status.HTTP_201_CREATED
    return Response(out.model_dump_json(), status_code=code, media_type="application/json")


@router.get(
    "/{merchant}/statement",
    response_model=StatementOut,
    summary="The merchant's purchases at every platform and its repayments, oldest first, paged",
    responses=problem_responses(401, 403, 404, 422),
)
def statement(
    merchant: MerchantParam,
    ctx: ContextDep,
    who: MemberOrOperator,
    member: IssuerQuery = None,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> StatementOut:
    return StatementOut.model_validate(merchants.statement(ctx, who, merchant, member, offset=offset, limit=limit))
