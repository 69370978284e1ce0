"""Cover 2: the two largest exposures against the pool's resources, as last computed (operators)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from clearing.api.schemas.common import AmountOut, OutSchema


class ExposureOut(OutSchema):
    member: str
    drawn: AmountOut = Field(description="Credit drawn from the pool: max(0, −on-chain balance)")
    in_flight_net_debit: AmountOut = Field(description="Net debit reserved in the open cycle (as headroom counts it)")
    collateral: AmountOut = Field(description="Free collateral: max(0, on-chain balance) less withdrawals under way")
    exposure: AmountOut = Field(description="max(0, drawn + in_flight_net_debit − collateral)")


class Cover2Out(OutSchema):
    id: int = Field(description="The snapshot's id (snapshots are kept as history)")
    computed_at: datetime
    cycle_id: int | None = Field(description="The settled cycle that ran it; null when an operator asked")
    trigger: Literal["cycle", "manual", "first_read", "scheduled"]
    loss: AmountOut = Field(description="What the joint default of the two largest exposures costs the pool")
    resources: AmountOut = Field(description="The pool's equity (poolTotal on chain): lenders bear the last loss")
    surplus: AmountOut = Field(description="resources − loss; negative: the shortfall", examples=["-100000000"])
    covered: bool = Field(description="loss ≤ resources; when false, a critical `cover2_uncovered` alert is open")
    coverage_bps: AmountOut | None = Field(
        description="resources × 10000 ÷ loss in basis points, rounded down (10000: exactly covered); a decimal "
        "string, since a tiny loss makes it exceed 2^53; null when nothing is exposed",
        examples=["9473"],
    )
    members: list[ExposureOut] = Field(
        description="The two members with the largest exposure, largest first (ties by name); fewer when fewer "
        "are exposed"
    )
