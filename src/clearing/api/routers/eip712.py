"""The EIP-712 domain and types debtors sign obligations under; public, like the contract's ``eip712Domain()``."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from clearing.api.deps import ContextDep
from clearing.api.schemas.common import problem_responses
from clearing.api.schemas.eip712 import Eip712Out
from clearing.errors import ServiceUnavailable
from clearing.services import signatures

router = APIRouter(prefix="/eip712", tags=["eip712"])


@router.get(
    "",
    response_model=Eip712Out,
    summary="EIP-712 domain and types for signing obligations and merchant lines (no key needed)",
    description=(
        "Typed data as wallets take it (`eth_signTypedData_v4`, eth-account's `full_message`, ethers' "
        "`signTypedData` without `EIP712Domain`): add a `message` with the obligation's fields and sign with "
        "the debtor's key; the creditor submits the obligation with that `signature`. The domain is the one "
        "the house contract returns from EIP-5267 `eip712Domain()`. Public: it is on chain for anyone to read, "
        "and a debtor's signing tool need not hold an API key. `type=MerchantLine`: the typed data a platform signs "
        "to grant or change its merchant's credit line (`POST /merchants`); one primary type per answer, as ethers "
        "refuses typed data with unused types. A merchant authorises a purchase on its line by signing the "
        "Obligation type, like a debtor."
    ),
    responses=problem_responses(503),
)
def eip712(
    ctx: ContextDep,
    type: Annotated[Literal["Obligation", "MerchantLine"], Query(description="The primary type")] = "Obligation",
) -> Eip712Out:
    if ctx.signing_domain is None:
        raise ServiceUnavailable("no EIP-712 domain: this server knows no chain id and house address", field=None)
    return Eip712Out.model_validate(signatures.typed_data(ctx.signing_domain, type))
