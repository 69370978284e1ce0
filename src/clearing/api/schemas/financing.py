"""Receivables financing: asking for an advance, its quote, and the advances taken."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from clearing.api.schemas.common import AmountOut, JsonInt, OutSchema, RequestId, Schema

AdvanceStatus = Literal["scheduled", "requested", "open", "repaid", "recourse", "failed", "lapsed"]
#: Cycle ids are uint64 on chain; the ledger keys them as signed 64-bit.
CYCLE_ID_MAX = 2**63 - 1


class AdvanceIn(Schema):
    id: RequestId = Field(
        description="Your idempotency key: a retry with the same id and cycle returns the first advance"
    )
    cycle_id: JsonInt = Field(
        ge=1,
        le=CYCLE_ID_MAX,
        description="A COMMITTED cycle in which you have credit pending (paid now), or the OPEN cycle in which "
        "accepted obligations owe you a net credit (paid when it commits into escrow; lapses if it settles at once)",
    )


class QuoteOut(OutSchema):
    """What the pool would advance you now on your pending credit in a cycle, and how it is priced."""

    cycle_id: int
    member: str
    receivable: AmountOut = Field(
        description="Your credit pending in the cycle (ledger net credit, chain pendingCredit)"
    )
    debtor_tier: Literal["A", "B", "C"] = Field(description="The worst tier among the debtors that owe into it")
    debtors: list[str]
    days: int = Field(description="Days until the cycle is claimable (at least the configured minimum)")
    claimable_at: datetime
    haircut_bps: int
    rate_bps: int = Field(description="The annual discount rate")
    gross: AmountOut = Field(description="The receivable after the haircut: what the pool is repaid first")
    advance: AmountOut = Field(description="Paid to your balance now (principal)")
    fee: AmountOut = Field(description="The discount for the days to settlement: the lenders' income")
    pool_liquidity: AmountOut = Field(description="poolTotal − creditDrawn − totalAdvanced")


class AdvanceOut(OutSchema):
    """One advance: its price, and what the chain repaid or took back."""

    id: int
    request_id: str
    member: str
    cycle_id: int
    status: AdvanceStatus = Field(
        description="`scheduled` (taken on the open cycle: paid when it commits), `lapsed` (never paid: see "
        "`lapsed`), `requested` (not on chain yet), `open` (owes the pool), `repaid` (by releases of the credit), "
        "`recourse` (a refund left too little credit: your balance was charged), `failed` (the chain refused it)"
    )
    receivable: AmountOut
    debtor_tier: str
    days: int
    haircut_bps: int
    rate_bps: int
    principal: AmountOut
    fee: AmountOut
    owed: AmountOut = Field(description="What it still owes the pool, from the chain's events")
    owed_on_chain: AmountOut | None = Field(description="principal + fee from the chain's advanceOf now")
    repaid_principal: AmountOut
    repaid_fee: AmountOut
    recourse_principal: AmountOut
    recourse_fee: AmountOut
    requested_at: datetime
    advanced_at: datetime | None
    advance_tx: str | None
    outbox_id: int | None
    outbox_state: str | None
    error: str | None
    lapsed: str | None = Field(description="Why an advance taken on an open cycle was never paid")
