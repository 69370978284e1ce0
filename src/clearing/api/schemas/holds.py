from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from clearing.api.schemas.common import AmountOut, OutSchema, Schema
from clearing.api.schemas.disputes import REASON_PATTERN


class HoldOut(OutSchema):
    """A hold with its rule, the numbers that triggered it, and the obligation it keeps out of netting."""

    id: int
    obligation_id: str
    submitter: str = Field(description="The member that submitted the obligation (ids are unique per submitter)")
    obligation_key: str
    debtor: str
    creditor: str
    amount: AmountOut
    rule: str = Field(examples=["single-order-limit"])
    message: str
    values: dict[str, Any] = Field(examples=[{"limit": "10000", "amount": "12000"}])
    release_after: datetime | None
    status: str = Field(examples=["open"])
    created_at: datetime


class ReviewIn(Schema):
    decision: Literal["release", "reject"]
    reason: str = Field(
        min_length=1, max_length=1024, pattern=REASON_PATTERN, examples=["merchant confirmed the order by phone"]
    )


class ReviewOut(OutSchema):
    hold: HoldOut
    decision: str
    obligation_status: str
