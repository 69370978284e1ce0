"""Tier-C order escrow: the order of an obligation, and the actions on it."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from clearing.api.schemas.common import AmountIn, AmountOut, LimitIn, OutSchema, RequestId, Schema, UnsignedTxOut
from clearing.api.schemas.releases import ActionOut


class OrderOut(OutSchema):
    obligation_id: str
    submitter: str = Field(description="The member that submitted the obligation (ids are unique per submitter)")
    order_id: str = Field(
        description=(
            "The obligation's key (0x-hex bytes32): keccak256(abi.encode(address submitter, string id)); "
            "keccak256 of the id's UTF-8 bytes for obligations recorded before ids were scoped to their submitter"
        )
    )
    debtor: str
    creditor: str
    debtor_address: str
    creditor_address: str
    amount: AmountOut
    status: str = Field(description="The obligation's status: escrow until the order closes, then settled or refunded")
    state: str = Field(
        description="unfunded | funded | disputed | closed, or mismatch (the order id was funded for another order)",
        examples=["funded"],
    )
    dispute_window: int = Field(description="Seconds the debtor may dispute after funding (the house's setting)")
    dispute_deadline: datetime | None = Field(default=None, description="Disputes before it, claims from it")
    remaining: AmountOut
    released: AmountOut
    refunded: AmountOut
    funding: list[UnsignedTxOut] = Field(
        description="While unfunded: the debtor's transactions, in order (approve if the allowance is short, then fund)"
    )
    actions: list[ActionOut] = Field(description="The operator's actions on this order")


class OrderAmountIn(Schema):
    amount: AmountIn | None = Field(default=None, description="Default: all that remains in the order")
    id: RequestId | None = Field(default=None, description="Operator's idempotency key (required with an amount)")


class ResolveIn(Schema):
    to_creditor: LimitIn
    to_debtor: LimitIn = Field(description="to_creditor + to_debtor must be exactly what remains")
    id: RequestId | None = None


class ClaimIn(Schema):
    id: RequestId | None = None


class OrderActionOut(OutSchema):
    order: OrderOut
    transaction: UnsignedTxOut | None = Field(
        default=None, description="A member's action: sign and send it from your own wallet"
    )
    action: ActionOut | None = Field(default=None, description="The operator's action, sent by the house")
