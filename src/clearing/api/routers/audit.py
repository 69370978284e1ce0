"""Auditors (read-only): Merkle proofs and the reconciliation report."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from clearing.adapters.chain.deploy import Contracts
from clearing.api.deps import Auditor, ContextDep
from clearing.api.schemas.common import problem_responses
from clearing.api.schemas.text import ObligationIdParam, RowId, SubmitterParam
from clearing.errors import ServiceUnavailable
from clearing.services import audit as svc
from clearing.services.context import ServiceContext

router = APIRouter(prefix="/audit", tags=["audit"])


def _contracts(ctx: ServiceContext) -> Contracts:
    contracts = ctx.contracts
    if contracts is None:
        raise ServiceUnavailable("auditing needs the chain, which this server has not configured", field=None)
    return contracts


@router.get(
    "/obligations/{obligation_id}/proof",
    summary="Merkle proof of a settled obligation",
    description=(
        "Verify it with `clearing audit check-proof FILE --rpc-url URL`: chain and proof only. Ids are unique per "
        "submitting member: `submitter` names whose id it is (422 naming `submitter` when several members used it). "
        "The leaf is `keccak256(keccak256(abi.encode(uint64 cycle_id, bytes32 obligation_key, address debtor, "
        "address creditor, uint256 amount)))` with `obligation_key = keccak256(abi.encode(address submitter, "
        "string obligation_id))` (`key_scheme` `submitter`; `legacy`: `keccak256(utf8(obligation_id))`)."
    ),
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
def proof(
    obligation_id: ObligationIdParam, ctx: ContextDep, who: Auditor, submitter: SubmitterParam | None = None
) -> dict[str, Any]:
    c = _contracts(ctx)
    return svc.prove(ctx.sessions, c.chain.chain_id, c.house.address, obligation_id, submitter).to_dict()


@router.get(
    "/verify",
    summary="Reconcile ledger, recomputation and chain events",
    description="`ok` is false when any check fails; `mismatches[0]` names the first.",
    responses=problem_responses(401, 403, 404, 503),
)
def verify(ctx: ContextDep, who: Auditor, cycle: RowId | None = None) -> dict[str, Any]:
    return svc.verify(ctx.sessions, _contracts(ctx), cycle).to_dict()
