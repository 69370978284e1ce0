"""Operators watch liquidity across members."""

from __future__ import annotations

from fastapi import APIRouter

from clearing.api.deps import ContextDep, Operator
from clearing.api.routers.members import member_out
from clearing.api.schemas.common import problem_responses
from clearing.api.schemas.members import MemberOut
from clearing.services import members as svc

router = APIRouter(prefix="/liquidity", tags=["liquidity"])


@router.get(
    "",
    response_model=list[MemberOut],
    summary="Every member's collateral, credit, reservations and headroom",
    description="Sorted by headroom, lowest first: who runs short next.",
    responses=problem_responses(401, 403),
)
def liquidity(ctx: ContextDep, op: Operator) -> list[MemberOut]:
    views = sorted(svc.list_members(ctx), key=lambda v: v.liquidity.headroom)
    return [member_out(v) for v in views]
