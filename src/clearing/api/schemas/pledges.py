"""Pledged digital assets: listed collections, a member's pledges, and the transactions its wallet signs."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from clearing.api.schemas.common import (
    JSON_SAFE_MAX,
    AmountIn,
    AmountOut,
    JsonInt,
    LimitIn,
    OutSchema,
    Schema,
    UnsignedTxOut,
)

_ADDRESS = r"^0x[0-9a-fA-F]{40}$"


class CollectionIn(Schema):
    collection: str = Field(pattern=_ADDRESS, description="The ERC-721 or ERC-1155 contract")
    unit_value: LimitIn = Field(description="Value of one token in the settlement token's smallest unit (< 2^96)")
    ltv_bps: JsonInt = Field(
        ge=0, le=10_000, description="Loan-to-value in basis points: the share counted as collateral"
    )
    max_age_seconds: JsonInt = Field(
        ge=1, le=JSON_SAFE_MAX, description="The valuation counts 0 once older than this, until revalued"
    )


class ValuationIn(Schema):
    unit_value: LimitIn = Field(description="Value of one token now (restarts the staleness clock)")


class CollectionOut(OutSchema):
    address: str
    standard: str | None = Field(description="erc721 or erc1155 (ERC-165)")
    unit_value: AmountOut
    ltv_bps: int
    max_age_seconds: int
    valued_at: datetime = Field(description="The chain's time of the valuation")
    stale: bool = Field(description="Older than max_age_seconds at the chain's time now: counts 0 until revalued")
    stale_after: datetime


class PositionOut(OutSchema):
    token_id: AmountOut
    amount: AmountOut = Field(description="1 for an ERC-721")


class HoldingOut(OutSchema):
    collection: str
    standard: str | None
    units: AmountOut
    unit_value: AmountOut
    ltv_bps: int
    stale: bool
    value: AmountOut = Field(description="units × unit_value (0 when stale): what a seizure would credit")
    collateral_value: AmountOut = Field(description="floor(value × ltv / 10000), 0 when stale: counted as collateral")
    positions: list[PositionOut]


class PledgesOut(OutSchema):
    member: str
    address: str
    holdings: list[HoldingOut]
    collateral_value: AmountOut = Field(description="The vault's collateralValueOf now")
    seizable_value: AmountOut = Field(description="The vault's seizableValueOf now (no LTV)")
    mirrored_collateral_value: AmountOut = Field(
        description="What the headroom check counts now (chain sync's mirror of collateral_value)"
    )
    headroom: AmountOut


class PledgeIn(Schema):
    collection: str = Field(pattern=_ADDRESS)
    token_id: LimitIn = Field(description="The token id (any uint256, as a decimal string)")
    amount: AmountIn | None = Field(default=None, description="ERC-1155: how many; ERC-721: 1 or omitted")


class PreparedPledgeOut(OutSchema):
    transactions: list[UnsignedTxOut] = Field(description="Sign and send in order from the member's wallet")
    pledges: PledgesOut = Field(description="The member's pledges before these transactions")
