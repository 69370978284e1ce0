"""Member defaults: declaring one, curing it, and the record (what each waterfall step covered on chain)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from clearing.api.schemas.common import AmountOut, OutSchema, Schema
from clearing.api.schemas.disputes import Reason

DefaultState = Literal["declaring", "allocating", "allocated", "curing", "cured"]


class DefaultIn(Schema):
    reason: Reason = Field(examples=["stopped answering after the summer sale; drawn credit unpaid"])


class CureIn(Schema):
    reason: Reason = Field(examples=["repaid in full on 2026-12-04; lenders recovered"])


class DefaultOut(OutSchema):
    """One default: why, what the waterfall covered on chain step by step, and its cure."""

    id: int
    member: str = Field(examples=["gemshop"])
    state: DefaultState = Field(
        description="`declaring` (declareDefault not mined yet), `allocating` (the waterfall not yet), `allocated`, "
        "`curing` (cureDefault not mined yet), `cured`"
    )
    trigger: Literal["repayment_deadline", "cycle_debit", "operator"]
    reason: str
    declared_at: datetime
    declared_by: str = Field(description="The operator, or `system:defaults` for the scan", examples=["operator"])
    balance_at_declaration: AmountOut = Field(description="The balance the chain declared it with (MemberDefaulted)")
    cycle_ids: list[int] = Field(description="Committed cycles whose pending credit to the member step 3 may take")
    steps: dict[str, AmountOut] = Field(
        description="What each step covered, from the chain's DefaultLossAllocated events: collateral, "
        "pledged_assets, receivables, pool_lenders (empty until allocated)",
        examples=[{"collateral": "0", "pledged_assets": "0", "receivables": "300", "pool_lenders": "200"}],
    )
    loss: AmountOut | None = Field(description="The debt the waterfall started from (null until allocated)")
    written_down: AmountOut | None = Field(description="What the pool's lenders absorbed (step 4)")
    recovered: AmountOut = Field(description="What later credits to the member paid back to the lenders")
    allocated_at: datetime | None
    cured_at: datetime | None
    cured_by: str | None
    cure_reason: str | None
    declare_tx: str | None
    allocate_tx: str | None
    cure_tx: str | None
    outbox: dict[str, str] = Field(
        description="The default's chain calls (outbox kind) and their state: planned, sent, mined or failed",
        examples=[{"declare_default": "mined", "allocate_default_loss": "mined"}],
    )
