"""Pledged digital assets: collections (risk, operator key), a member's pledges, and its wallet's calls.

Pledging and unpledging are the member's own transactions: the prepare routes record and send nothing,
they return the calls for the member's wallet, refused up front (409 naming the field, with the values)
where the vault would refuse them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from clearing.api.deps import ContextDep, CurrentMember, Operator, PrincipalDep
from clearing.api.schemas.common import UnsignedTxOut, problem_responses
from clearing.api.schemas.pledges import (
    CollectionIn,
    CollectionOut,
    PledgeIn,
    PledgesOut,
    PreparedPledgeOut,
    ValuationIn,
)
from clearing.api.schemas.text import MemberNameParam
from clearing.services import pledges as svc

router = APIRouter(tags=["pledges"])
CollectionParam = Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{40}$", description="The collection's address")]
_SIGN = "Nothing is recorded or sent: sign and send them in order from the member's wallet."


def _prepared(p: svc.Prepared) -> PreparedPledgeOut:
    return PreparedPledgeOut(
        transactions=[UnsignedTxOut.model_validate(t) for t in p.transactions],
        pledges=PledgesOut.model_validate(p.pledges),
    )


@router.get(
    "/pledges/collections",
    response_model=list[CollectionOut],
    summary="Collections the vault accepts, with value, LTV, when valued, the bound and whether stale now",
    responses=problem_responses(401, 403, 503),
)
def collections(ctx: ContextDep, who: PrincipalDep) -> list[CollectionOut]:
    return [CollectionOut.model_validate(c) for c in svc.list_collections(ctx)]


@router.post(
    "/pledges/collections",
    response_model=CollectionOut,
    status_code=status.HTTP_201_CREATED,
    summary="List (or re-set) a collection: value per token, LTV and staleness bound (operator, audited)",
    description="Sent through the outbox with the risk key (setCollection). 422 naming the field for a value the "
    "vault refuses; 409 for a contract that is neither ERC-721 nor ERC-1155, or a value of 2^96 or more.",
    responses=problem_responses(401, 403, 409, 422, 502, 503),
)
def list_collection(body: CollectionIn, ctx: ContextDep, op: Operator) -> CollectionOut:
    view = svc.set_collection(ctx, op.actor, body.collection, body.unit_value, body.ltv_bps, body.max_age_seconds)
    return CollectionOut.model_validate(view)


@router.put(
    "/pledges/collections/{collection}",
    response_model=CollectionOut,
    summary="Value a listed collection now (restarts its staleness clock; operator, audited)",
    responses=problem_responses(401, 403, 404, 409, 422, 502, 503),
)
def revalue(collection: CollectionParam, body: ValuationIn, ctx: ContextDep, op: Operator) -> CollectionOut:
    return CollectionOut.model_validate(svc.update_value(ctx, op.actor, collection, body.unit_value))


@router.get(
    "/members/me/pledges",
    response_model=PledgesOut,
    summary="Your pledges per collection, their value and collateral value, and your headroom",
    responses=problem_responses(401, 403, 503),
)
def my_pledges(ctx: ContextDep, me: CurrentMember) -> PledgesOut:
    assert me.member_name is not None
    return PledgesOut.model_validate(svc.pledges_of(ctx, me.member_name))


@router.post(
    "/members/me/pledges/prepare-pledge",
    response_model=PreparedPledgeOut,
    summary="The transactions that pledge a token: the vault's approval if missing, then pledge721/pledge1155",
    description=f"{_SIGN} 409 naming the field when the collection is not listed, the token is not in your "
    "wallet, you are in default or at the vault's bounds. A stale collection may be pledged: it counts 0 "
    "until revalued.",
    responses=problem_responses(401, 403, 409, 422, 502, 503),
)
def prepare_pledge(body: PledgeIn, ctx: ContextDep, me: CurrentMember) -> PreparedPledgeOut:
    assert me.member_name is not None
    return _prepared(svc.prepare_pledge(ctx, me.member_name, body.collection, body.token_id, body.amount))


@router.post(
    "/members/me/pledges/prepare-unpledge",
    response_model=PreparedPledgeOut,
    summary="The transaction that takes a pledged token back: unpledge721/unpledge1155",
    description=f"{_SIGN} 409 naming the field when you pledged less, owe the house, are in default, or your "
    "headroom without the token's collateral value would go below zero (values: headroom, headroom_without).",
    responses=problem_responses(401, 403, 409, 422, 502, 503),
)
def prepare_unpledge(body: PledgeIn, ctx: ContextDep, me: CurrentMember) -> PreparedPledgeOut:
    assert me.member_name is not None
    return _prepared(svc.prepare_unpledge(ctx, me.member_name, body.collection, body.token_id, body.amount))


@router.get(
    "/members/{name}/pledges",
    response_model=PledgesOut,
    summary="A member's pledges (operator)",
    responses=problem_responses(401, 403, 404, 503),
)
def member_pledges(name: MemberNameParam, ctx: ContextDep, op: Operator) -> PledgesOut:
    return PledgesOut.model_validate(svc.pledges_of(ctx, name))
