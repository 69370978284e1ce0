"""The outbox as operators watch it: /health's summary and the rows stuck unsent or unmined."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from clearing.api.schemas.common import OutSchema


class OutboxHealthOut(OutSchema):
    pending: int = Field(description="House transactions planned or sent, not mined yet")
    stuck: int = Field(description="Of those, pending longer than stuck_after_seconds")
    oldest_seconds: int | None = Field(description="Age of the oldest pending one (null: none pending)")
    stuck_after_seconds: int = Field(description="The threshold (CLEARING_WRITER__STUCK_SECONDS)")


class HealthOut(OutSchema):
    status: Literal["ok", "degraded"] = Field(
        description="degraded: transactions are stuck (see GET /outbox/stuck), or the ledger did not answer"
    )
    writer: bool = Field(description="Whether the process that answered is the chain writer (signs and sends)")
    outbox: OutboxHealthOut | None = Field(description="null when the ledger did not answer")
    detail: str | None = None


class StuckRowOut(OutSchema):
    id: int = Field(description="Outbox row")
    kind: str = Field(examples=["settle"])
    state: Literal["planned", "sent"]
    member: str | None = None
    cycle_id: int | None = None
    created_at: datetime
    age_seconds: int
    nonce: int | None = Field(default=None, description="Nonce of its transaction, once signed")
    tx_hash: str | None = Field(default=None, description="Its newest transaction")
    hashes: list[str] = Field(description="Every transaction signed at that nonce (replacements after the first)")
    error: str | None = Field(default=None, description="What the last attempt met")


class StuckOut(OutSchema):
    stuck_after_seconds: int
    count: int = Field(description="Stuck rows (the list holds at most `limit` of them, oldest first)")
    rows: list[StuckRowOut]
