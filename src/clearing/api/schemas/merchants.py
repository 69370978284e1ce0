"""Merchant credit lines a platform grants its merchants: granting (signed), freezing, repayments, statements."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from clearing.api.schemas.common import AmountIn, AmountOut, LimitIn, OutSchema, RequestId, Schema

#: A platform's id for its merchant, as purchases name it in ``on_behalf_of``; path-safe.
MERCHANT_PATTERN = r"^[A-Za-z0-9._-]{1,128}$"
MerchantId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=128,
        pattern=MERCHANT_PATTERN,
        examples=["merchant-4411"],
        description="Your id for the merchant (letters, digits and . _ -): what purchases name in on_behalf_of",
    ),
]
Signature = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{130}$", description="65 bytes, 0x-hex")]


class GrantIn(Schema):
    """Grant a line to your merchant, or change it: signed by your member key over the MerchantLine typed data."""

    merchant: MerchantId
    signer: str = Field(
        pattern=r"^0x[0-9a-fA-F]{40}$",
        description="Address of the merchant's key, which signs its purchases",
        examples=["0x90F79bf6EB2c4f870365E785982E1f101E93b906"],
    )
    limit: LimitIn
    nonce: LimitIn = Field(description="Above the line's newest nonce for a change (any for a new line)")
    signature: Signature = Field(
        description=(
            "Your EIP-712 signature over `MerchantLine(address issuer,string merchant,address signer,uint256 limit,"
            "uint256 nonce)` (issuer: your member address), domain as `GET /eip712?type=MerchantLine`"
        )
    )


class StatusIn(Schema):
    status: Literal["active", "frozen"] = Field(description="frozen: purchases on the line are refused")


class RepaymentIn(Schema):
    id: RequestId = Field(description="Your id for the repayment: retries with it are safe")
    amount: AmountIn
    reference: str = Field(default="", max_length=256, examples=["bank transfer 2026-12-01"])


class LineOut(OutSchema):
    issuer: str = Field(examples=["cardhub"], description="The platform that granted the line")
    merchant: str = Field(examples=["merchant-4411"])
    signer: str
    limit: AmountOut
    used: AmountOut = Field(description="Purchases taken on (not rejected, refunded or cancelled) minus repayments")
    available: AmountOut = Field(description="limit − used, at least 0")
    status: Literal["active", "frozen"]
    nonce: AmountOut
    created_at: datetime
    updated_at: datetime


class GrantOut(OutSchema):
    created: bool
    replayed: bool = Field(description="True when this signed grant was recorded before (a safe retry)")
    line: LineOut


class RepaymentOut(OutSchema):
    replayed: bool
    id: str
    amount: AmountOut
    reference: str
    created_at: datetime
    line: LineOut


class StatementEntryOut(OutSchema):
    kind: Literal["purchase", "repayment"]
    id: str = Field(description="The purchase's obligation id (as its submitter chose it), or the repayment's id")
    at: datetime
    amount: AmountOut
    reference: str
    creditor: str | None = Field(default=None, description="Purchases: the platform the merchant bought from")
    submitter: str | None = None
    status: str | None = Field(default=None, description="Purchases: the obligation's status")
    obligation_key: str | None = None
    cycle_id: int | None = None


class StatementOut(OutSchema):
    line: LineOut
    entries: list[StatementEntryOut]
    offset: int
    next_offset: int | None = Field(description="Pass as `offset` for the next page; null on the last")
