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


class Cover2BriefOut(OutSchema):
    loss: AmountOut = Field(description="Σ of the two largest exposures")
    resources: AmountOut = Field(description="The pool's equity it is set against")
    covered: bool
    members: list[str] = Field(description="The (at most) two members, largest exposure first")


class MemberStressOut(OutSchema):
    member: str
    shortfall_probability: float = Field(description="Share of forecast paths on which it goes past its line")
    shortfall_day: int | None = Field(description="First day (1-based) on which that share passes 10%")
    topup_95: AmountOut = Field(description="The deposit that keeps it within its line on 95% of the paths")
    drawn_end_p50: AmountOut = Field(description="Its credit drawn at the end of the horizon, median")
    drawn_end_p95: AmountOut = Field(description="Its credit drawn at the end of the horizon, 95th percentile")


class WhatIfOut(OutSchema):
    days: int
    demand: float = Field(description="The multiple of the forecast demand the survivors run at")
    cover2_latest_id: int | None = Field(description="The stored Cover 2 snapshot (GET /cover2) this starts from")
    cover2_now: Cover2BriefOut = Field(description="Cover 2 computed now on the same reading")
    defaulted: list[str] = Field(description="The two largest exposures, taken to default now")
    loss: AmountOut = Field(description="What their default costs the pool (the Cover 2 loss)")
    pool_after: AmountOut = Field(description="The pool's equity after that loss; negative: lenders cannot absorb it")
    pool_need_by_day: list[AmountOut] = Field(
        description="Per day, the 95th percentile over forecast paths of the survivors' credit drawn"
    )
    pool_need_95: AmountOut = Field(description="The peak of pool_need_by_day")
    pool_covers: bool = Field(description="pool_need_95 ≤ pool_after")
    members: list[MemberStressOut] = Field(description="The survivors, the most likely to run short first")
    cover2_after: Cover2BriefOut = Field(description="Cover 2 among the survivors at the end, on their p95 drawn")
