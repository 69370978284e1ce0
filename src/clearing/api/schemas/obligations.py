from __future__ import annotations

from datetime import datetime

from pydantic import Field

from clearing.api.schemas.common import AmountIn, AmountOut, OutSchema, Schema
from clearing.api.schemas.holds import HoldOut

_EX_ID = "ord-2026-000123"


class ObligationIn(Schema):
    """An obligation: ``debtor`` owes ``creditor`` ``amount``. ``id`` is yours and is the idempotency key."""

    id: str = Field(
        min_length=1,
        max_length=128,
        pattern=r"^[\x21-\x7e]+$",
        examples=[_EX_ID],
        description=(
            "Your id for it (printable ASCII, no spaces): unique among the obligations you submit, whatever "
            "ids other members use; retries with the same id are safe"
        ),
    )
    debtor: str = Field(
        min_length=1,
        max_length=64,
        examples=["alpha-games"],
        description="Member name or 0x address of the member that owes",
    )
    creditor: str = Field(
        min_length=1, max_length=64, examples=["beta-cards"], description="Member name or 0x address of the member owed"
    )
    amount: AmountIn
    reference: str = Field(default="", max_length=256, examples=["order 8812, 3x gift card"])
    on_behalf_of: str | None = Field(
        default=None,
        max_length=128,
        examples=["merchant-4411"],
        description="End merchant when a purchase is charged to a member's credit",
    )
    signature: str | None = Field(
        default=None,
        pattern=r"^0x[0-9a-fA-F]{130}$",
        description=(
            "Debtor's EIP-712 signature (65 bytes hex) over `Obligation(string id,address debtor,address creditor,"
            'uint256 amount,string reference,string onBehalfOf)` (`onBehalfOf` is `on_behalf_of`, "" when absent); '
            "required when the creditor submits"
        ),
        examples=[None],
    )
    merchant_signature: str | None = Field(
        default=None,
        pattern=r"^0x[0-9a-fA-F]{130}$",
        description=(
            "The merchant's EIP-712 signature over the same Obligation typed data, required when `on_behalf_of` "
            "names a credit line the debtor granted its merchant (the line's registered signer must have signed)"
        ),
        examples=[None],
    )

    model_config = {
        **Schema.model_config,
        "json_schema_extra": {
            "examples": [
                {
                    "id": _EX_ID,
                    "debtor": "alpha-games",
                    "creditor": "beta-cards",
                    "amount": "12000",
                    "reference": "order 8812",
                }
            ]
        },
    }


class BatchIn(Schema):
    items: list[ObligationIn] = Field(
        min_length=1, description="Up to api.max_batch (10,000) obligations, one transaction"
    )

    model_config = {
        **Schema.model_config,
        "json_schema_extra": {
            "examples": [
                {
                    "items": [
                        {"id": "ord-1", "debtor": "alpha-games", "creditor": "beta-cards", "amount": "12000"},
                        {"id": "ord-2", "debtor": "alpha-games", "creditor": "gamma-video", "amount": "500"},
                    ]
                }
            ]
        },
    }


class ObligationOut(OutSchema):
    id: str = Field(examples=[_EX_ID], description="The submitter's id for it (unique per submitter)")
    submitter: str = Field(examples=["alpha-games"], description="The member that submitted it")
    obligation_key: str = Field(
        description=(
            "Its key on chain (0x-hex bytes32; Merkle leaf, tier-C order id): keccak256(abi.encode(address "
            "submitter, string id)), or keccak256 of the id's UTF-8 bytes if recorded before ids were scoped"
        )
    )
    debtor: str = Field(examples=["alpha-games"])
    creditor: str = Field(examples=["beta-cards"])
    debtor_address: str
    creditor_address: str
    amount: AmountOut
    reference: str
    on_behalf_of: str | None
    created_at: datetime
    status: str = Field(
        examples=["accepted"],
        description=(
            "accepted | held | queued_beyond_headroom | rejected | escrow | netted | committed | settled | "
            "refunded | carried | disputed (held by an open dispute) | cancelled (annulled by an upheld dispute)"
        ),
    )
    route: str = Field(examples=["net"], description="net (multilateral netting) or escrow (tier C per-order escrow)")
    shortfall: AmountOut | None = Field(
        default=None, description="For queued_beyond_headroom: headroom missing at submission"
    )
    cycle_id: int | None
    signed: bool
    holds: list[HoldOut] = Field(default_factory=list)


class SubmitOut(OutSchema):
    replayed: bool = Field(description="True when this id was already recorded with the same body (a safe retry)")
    obligation: ObligationOut


class BatchItemOut(OutSchema):
    index: int
    replayed: bool
    id: str
    status: str
    shortfall: AmountOut | None = None
    holds: list[HoldOut] = Field(default_factory=list)


class BatchOut(OutSchema):
    count: int
    counts: dict[str, int] = Field(examples=[{"accepted": 9990, "held": 4, "queued_beyond_headroom": 6}])
    replayed: int
    items: list[BatchItemOut]
