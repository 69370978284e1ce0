"""API keys: a member lists, rotates and revokes its own; an operator does so for any member.

A revoked key fails at once in the process that revoked it and within ``auth_change_check_seconds``
in every other; a rotated key keeps working for its overlap, then expires.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from clearing.api.deps import ContextDep, CurrentMember, Operator
from clearing.api.schemas.common import problem_responses
from clearing.api.schemas.keys import ApiKeyOut, RotatedOut, RotateIn
from clearing.api.schemas.text import MemberNameParam
from clearing.services import api_keys as svc

router = APIRouter(prefix="/members", tags=["keys"])

KeyId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The key's id, as listings show it")]


def _rotated(r: svc.Rotated) -> RotatedOut:
    return RotatedOut(api_key=r.api_key, new=ApiKeyOut.model_validate(r.new), old=ApiKeyOut.model_validate(r.old))


# The member's own routes come first: /members/me/... would otherwise match /members/{name}/...
@router.get("/me/keys", response_model=list[ApiKeyOut], summary="Your API keys", responses=problem_responses(401, 403))
def my_keys(ctx: ContextDep, me: CurrentMember) -> list[ApiKeyOut]:
    return [ApiKeyOut.model_validate(k) for k in svc.list_keys(ctx, member_id=me.member_id)]


@router.post(
    "/me/keys/rotate",
    response_model=RotatedOut,
    status_code=status.HTTP_201_CREATED,
    summary="Rotate the key this request is made with; the old one works for the overlap",
    responses=problem_responses(401, 403, 409, 422),
)
def rotate_my_key(body: RotateIn, ctx: ContextDep, me: CurrentMember) -> RotatedOut:
    assert me.key_id is not None  # member keys live in the ledger
    return _rotated(
        svc.rotate(ctx, me, me.key_id, overlap_seconds=body.overlap_seconds, label=body.label, member_id=me.member_id)
    )


@router.post(
    "/me/keys/{key_id}/revoke",
    response_model=ApiKeyOut,
    summary="Revoke one of your keys at once",
    responses=problem_responses(401, 403, 404, 422),
)
def revoke_my_key(key_id: KeyId, ctx: ContextDep, me: CurrentMember) -> ApiKeyOut:
    return ApiKeyOut.model_validate(svc.revoke(ctx, me, key_id, member_id=me.member_id))


@router.get(
    "/{name}/keys",
    response_model=list[ApiKeyOut],
    summary="A member's API keys (operator)",
    responses=problem_responses(401, 403, 404),
)
def member_keys(name: MemberNameParam, ctx: ContextDep, op: Operator) -> list[ApiKeyOut]:
    return [ApiKeyOut.model_validate(k) for k in svc.list_keys(ctx, member=name)]


@router.post(
    "/{name}/keys/{key_id}/revoke",
    response_model=ApiKeyOut,
    summary="Revoke a member's key at once (operator, audited)",
    responses=problem_responses(401, 403, 404, 422),
)
def revoke_member_key(name: MemberNameParam, key_id: KeyId, ctx: ContextDep, op: Operator) -> ApiKeyOut:
    return ApiKeyOut.model_validate(svc.revoke(ctx, op, key_id, member=name))


@router.post(
    "/{name}/keys/{key_id}/rotate",
    response_model=RotatedOut,
    status_code=status.HTTP_201_CREATED,
    summary="Rotate a member's key (operator, audited); the old one works for the overlap",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def rotate_member_key(
    name: MemberNameParam, key_id: KeyId, body: RotateIn, ctx: ContextDep, op: Operator
) -> RotatedOut:
    return _rotated(svc.rotate(ctx, op, key_id, overlap_seconds=body.overlap_seconds, label=body.label, member=name))
