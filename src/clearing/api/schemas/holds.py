from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from clearing.api.schemas.common import AmountOut, OutSchema, Schema


class HoldRowOut(OutSchema):
    id: int
    obligation_id: str
    debtor: str
    creditor: str
    amount: AmountOut
    rule: str = Field(examples=["velocity"])
    message: str
    values: dict[str, Any]
    release_after: datetime | None
    status: str
    created_at: datetime


class ReviewIn(Schema):
    decision: Literal["release", "reject"]
    reason: str = Field(min_length=1, max_length=1024, examples=["merchant confirmed the order by phone"])


class ReviewOut(OutSchema):
    hold: HoldRowOut
    decision: str
    obligation_status: str
