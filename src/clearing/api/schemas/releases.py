"""Release modes of a cycle committed into escrow: requests, the escrow, and the operator's actions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, Field

from clearing.api.schemas.common import (
    AmountOut,
    JsonInt,
    MemberAmounts,
    MemberRef,
    OutSchema,
    RequestId,
    Schema,
)

MAX_MEMBERS = 1000


class ReleaseAllIn(Schema):
    id: RequestId | None = Field(
        default=None, description="Your idempotency key (default: one key per cycle for releasing everything)"
    )


class ReleasePartialIn(Schema):
    id: RequestId = Field(description="Your idempotency key: a retry with the same id and body releases nothing more")
    amounts: MemberAmounts = Field(
        min_length=1,
        max_length=MAX_MEMBERS,
        description="Creditor (name or address) → units of its pending credit to release",
        examples=[{"beta-cards": "400000"}],
    )


class ReleaseProRataIn(Schema):
    id: RequestId
    bps: JsonInt = Field(ge=1, le=10_000, description="Share of each pending credit, in basis points (rounded down)")
    creditors: list[MemberRef] | None = Field(
        default=None, min_length=1, max_length=MAX_MEMBERS, description="Only these creditors (default: all)"
    )


class HoldIn(Schema):
    # strict=False: JSON has no datetime type, so an RFC 3339 string is the only way to send one
    until: AwareDatetime = Field(
        strict=False, description="Nothing is released or claimed before this time (chain clock)"
    )
    id: RequestId | None = Field(default=None, description="Your idempotency key (default: one per `until`)")


class RefundIn(Schema):
    id: RequestId | None = Field(default=None, description="Required with cancel/refund")
    cancel: MemberAmounts | None = Field(
        default=None, max_length=MAX_MEMBERS, description="Creditor → pending credit to cancel"
    )
    refund: MemberAmounts | None = Field(
        default=None, max_length=MAX_MEMBERS, description="Debtor → units returned to its balance (same total)"
    )


class ActionOut(OutSchema):
    id: str = Field(description="The request id")
    outbox_id: int
    kind: str = Field(examples=["cycle_release"])
    state: str = Field(description="planned | sent | mined | failed", examples=["mined"])
    tx_hash: str | None = None
    block: int | None = None
    error: str | None = None
    request: dict[str, Any]
    created_at: datetime


class EscrowOut(OutSchema):
    cycle_id: int
    state: str = Field(examples=["COMMITTED"])
    release: str = Field(description="operator: committed for the operator to release; auto: released at once")
    escrowed: AmountOut
    held_until: datetime | None = None
    claimable_at: datetime | None = Field(default=None, description="From then on creditors may claim themselves")
    chain_time: datetime
    pending: dict[str, AmountOut] = Field(description="Creditor → credit still pending in the escrow")
    refundable: dict[str, AmountOut] = Field(description="Debtor → what a refund could still return to it")
    actions: list[ActionOut]


class ActionResultOut(OutSchema):
    action: ActionOut
    escrow: EscrowOut
