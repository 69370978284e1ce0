from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from clearing.api.schemas.common import AmountOut, MemberRef, OutSchema, Schema

#: Something other than spaces, tabs and line breaks, and no NUL (the service checks the same).
REASON_PATTERN = r"^[^\u0000]*[^\u0000 \t\n\r][^\u0000]*$"
Reason = Annotated[
    str,
    Field(
        min_length=1,
        max_length=1024,
        pattern=REASON_PATTERN,
        description="Why (not blank; at most 1,024 characters); both parties read it",
    ),
]


class DisputeIn(Schema):
    reason: Reason = Field(examples=["the gift cards of order 8812 were never delivered"])


class DisputeOut(OutSchema):
    """A dispute, the obligation it is about, and its outcome once resolved."""

    id: int
    obligation_id: str = Field(examples=["ord-2026-000123"], description="The submitter's id for it")
    obligation_key: str = Field(
        description="The obligation's key (0x-hex bytes32): ids are unique per submitter, the key across members"
    )
    submitter: str = Field(examples=["alpha-games"], description="The member that submitted the obligation")
    debtor: str = Field(examples=["alpha-games"])
    creditor: str = Field(examples=["beta-cards"])
    amount: AmountOut
    obligation_status: str = Field(
        examples=["disputed"],
        description="The obligation's status now: held or disputed while a pre-close dispute is open; "
        "rejected or cancelled once upheld; back in netting (accepted, queued_beyond_headroom) once rejected",
    )
    filed_by: str = Field(examples=["alpha-games"])
    against: str = Field(examples=["beta-cards"], description="The obligation's other party")
    reason: str
    phase: Literal["pre-close", "post-settlement"]
    state: Literal["open", "upheld", "rejected"]
    hold_id: int | None = Field(
        description="Pre-close: the hold (rule `dispute`) that keeps the obligation out of netting"
    )
    resolution: str | None = Field(description="The operator's reason, once resolved")
    resolver: str | None = Field(examples=["operator:key3"])
    reversal_obligation_id: str | None = Field(
        examples=["dispute-7-reversal"],
        description="Post-settlement and upheld: the obligation reversing it (creditor owes debtor the amount), "
        "submitted by the member that filed the dispute",
    )
    reversal_obligation_key: str | None = Field(description="The reversing obligation's key")
    created_at: datetime
    resolved_at: datetime | None


class ResolveDisputeIn(Schema):
    decision: Literal["uphold", "reject"]
    reason: Reason = Field(examples=["delivery logs confirm the cards were never sent"])


class ComplaintIn(Schema):
    against: MemberRef = Field(description="The member complained about: one you have had an obligation with")
    reason: Reason = Field(examples=["orders are confirmed and then cancelled hours later"])
    obligation_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        examples=["ord-2026-000123"],
        description="An obligation between you and that member, if the complaint is about one: found as "
        "GET /obligations/{id} finds it (your own submission with that id first, else the one `against` submitted)",
    )


class ComplaintOut(OutSchema):
    id: int
    filed_by: str = Field(examples=["alpha-games"])
    against: str = Field(examples=["beta-cards"])
    obligation_id: str | None = Field(description="The obligation it is about, if any: the submitter's id for it")
    obligation_key: str | None = Field(description="That obligation's key (0x-hex bytes32)")
    obligation_submitter: str | None = Field(
        examples=["alpha-games"], description="The member that submitted that obligation"
    )
    reason: str
    state: Literal["open", "validated", "dismissed"]
    resolution: str | None = Field(description="The operator's reason, once resolved")
    resolver: str | None = Field(examples=["operator:key3"])
    created_at: datetime
    resolved_at: datetime | None


class ResolveComplaintIn(Schema):
    decision: Literal["validate", "dismiss"]
    reason: Reason = Field(examples=["three counterparties reported the same pattern"])
