from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, Field

from clearing.api.schemas.common import AmountIn, AmountOut, LimitIn, OutSchema, RequestId, Schema, UnsignedTxOut


class LiquidityOut(OutSchema):
    collateral: AmountOut = Field(description="Signed on-chain balance (ledger mirror)")
    free_collateral: AmountOut
    credit_line: AmountOut
    credit_used: AmountOut
    reserved_debit: AmountOut
    reserved_credit: AmountOut
    reserved_net_debit: AmountOut
    pending_withdrawal: AmountOut
    pledged_collateral: AmountOut = Field(
        default=0, description="Pledged assets in the vault: value × LTV, stale valuations 0 (GET /members/me/pledges)"
    )
    headroom: AmountOut
    withdrawable: AmountOut


class InterestOut(OutSchema):
    """What the member pays for the credit it draws (services/interest.py; docs/pool.md)."""

    borrow_rate_bps: int = Field(description="The pool's annual borrow rate now: base + slope × utilisation")
    drawn: AmountOut = Field(description="Credit drawn now: max(0, −balance) on chain")
    interest_owed_now: AmountOut = Field(
        description="Interest accrued since the last charge, charged to the balance at its next touch or keeper run"
    )
    interest_charged_total: AmountOut = Field(
        description="Σ interest charged to the balance so far (InterestCharged events, as chain sync mirrored them)"
    )
    annual_cost_now: AmountOut = Field(description="drawn × borrow rate / 10000: a year at today's rate")


class MemberOut(OutSchema):
    name: str = Field(examples=["alpha-games"])
    address: str = Field(examples=["0x1111111111111111111111111111111111111111"])
    tier: str = Field(examples=["B"])
    tier_reasons: list[str] = Field(examples=[["volume 1.2M/month", "no defaults in 12 months"]])
    status: str = Field(examples=["active"])
    status_reason: str | None = None
    credit_line: AmountOut
    single_order_limit: AmountOut | None = None
    limit_overrides: dict[str, AmountOut] = Field(
        default_factory=dict,
        description="The member's own limits replacing its tier's",
        examples=[{"velocity_max_count": "50"}],
    )
    liquidity: LiquidityOut
    synced_block: int
    created_at: datetime


class MemberDetailOut(MemberOut):
    interest: InterestOut | None = Field(
        default=None, description="What its drawn credit costs it (null without a readable chain)"
    )


class CarriedOut(OutSchema):
    id: str
    submitter: str = Field(description="The member that submitted it: ids are unique per submitter")
    creditor: str
    amount: AmountOut
    shortfall: AmountOut | None = None


class MeOut(OutSchema):
    member: MemberOut
    headroom: AmountOut = Field(description="free collateral + unused credit − reserved net debit")
    open_position: AmountOut = Field(description="Receipts − payments over accepted/netted obligations (open cycle)")
    queued_beyond_headroom: int
    queued_value: AmountOut
    held: int
    carried: list[CarriedOut]
    carried_value: AmountOut
    topup_needed: AmountOut = Field(description="Collateral to add so every queued and carried obligation fits")
    interest: InterestOut | None = Field(
        default=None, description="What your drawn credit costs you (null without a readable chain)"
    )


class AdmitIn(Schema):
    name: str = Field(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$", examples=["alpha-games"])
    address: str = Field(pattern=r"^0x[0-9a-fA-F]{40}$", examples=["0x1111111111111111111111111111111111111111"])
    tier: str | None = Field(
        default=None,
        pattern=r"^[ABC]$",
        description="Pins a tier for the provisional period (an override); default: the policy's provisional tier, "
        "then the score decides",
    )
    credit_line: LimitIn | None = Field(
        default=None,
        description="The most the provisional line may be; it is also bounded by policy and by collateral posted",
    )
    single_order_limit: LimitIn | None = None
    tier_reasons: list[str] | None = None


class AdmittedOut(OutSchema):
    member: MemberOut
    api_key: str = Field(description="Shown once; only its hash is stored", examples=["chm_3q2...k"])


class StatusIn(Schema):
    reason: str = Field(min_length=1, max_length=512, examples=["chargeback investigation #44"])


class LimitsIn(Schema):
    reason: str = Field(min_length=1, max_length=512, examples=["quarterly review"])
    tier: str | None = Field(
        default=None,
        pattern=r"^[ABC]$",
        description="Pins the tier as an operator override (until expires_at); tiers otherwise follow the score",
    )
    tier_reasons: list[str] | None = None
    credit_line: LimitIn | None = Field(
        default=None,
        description="Pins the line as an operator override (until expires_at); above the member's cap (30% of its "
        "average monthly volume, or its provisional bound) it is 422 credit-line-above-cap",
    )
    # strict=False: JSON has no datetime type, so an RFC 3339 string is the only way to send one
    expires_at: AwareDatetime | None = Field(
        default=None,
        strict=False,
        description="When a pinned tier or line stops applying (default: credit.override_default_days from now)",
    )
    single_order_limit: LimitIn | None = None
    clear_single_order_limit: bool = False
    limit_overrides: dict[str, LimitIn | None] | None = Field(
        default=None,
        description="The member's own limits, each replacing its tier's: velocity_max_count, velocity_max_amount, "
        "new_counterparty_threshold (single_order_limit has its own field). Merged into those already set; "
        "null clears one. An unknown key or a bad value is a 422 naming limit_overrides.<key>.",
        examples=[{"velocity_max_count": "50", "velocity_max_amount": "2000000000"}],
    )


class KeyOut(OutSchema):
    api_key: str


class KeyIn(Schema):
    label: str = Field(default="", max_length=128)


class WithdrawalIn(Schema):
    amount: AmountIn
    id: RequestId | None = Field(
        default=None, description="Your idempotency key: a retry with it returns the first request, reserving once"
    )


class WithdrawalOut(OutSchema):
    outbox_id: int
    id: str | None = None
    member: str
    amount: AmountOut
    state: str = Field(
        description="planned: waiting for your wallet to send `transaction`; mined: done (`tx_hash`); failed",
        examples=["planned"],
    )
    transaction: UnsignedTxOut | None = Field(
        default=None, description="withdraw(amount, you) on the house, for your own wallet to sign and send"
    )
    tx_hash: str | None = Field(default=None, description="The transaction that completed it, once mined")
    block: int | None = None
    created_at: datetime
