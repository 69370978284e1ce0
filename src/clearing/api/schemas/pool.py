"""The credit pool for lenders: status, shares and rates, a lender's position, the queue, transactions to sign."""

from __future__ import annotations

from pydantic import Field

from clearing.api.schemas.common import JSON_SAFE_MAX, AmountIn, AmountOut, JsonInt, OutSchema, Schema, UnsignedTxOut

_ADDRESS = r"^0x[0-9a-fA-F]{40}$"


class QueuedRequestOut(OutSchema):
    id: int = Field(description="The request id (requestWithdrawal's), in payment order")
    lender: str
    shares: AmountOut = Field(description="Shares still waiting")
    assets: AmountOut = Field(description="What they are worth now, rounded down")


class LenderOut(OutSchema):
    lender: str
    shares: AmountOut = Field(description="Shares held, not counting queued ones")
    assets: AmountOut = Field(description="What those shares are worth now (lenderBalance), rounded down")
    queued: list[QueuedRequestOut] = Field(description="The lender's requests still waiting in the queue")
    queued_shares: AmountOut
    queued_assets: AmountOut = Field(description="What the queued shares are worth now, rounded down")
    withdrawable: AmountOut = Field(
        description="What one poolWithdraw can take now: min(assets, pool available), 0 while requests wait"
    )
    share_bps: int = Field(description="(shares + queued shares) / all shares, in basis points, rounded down")
    deposited: AmountOut = Field(description="Σ assets the lender lent (its PoolDeposited events)")
    withdrawn: AmountOut = Field(description="Σ assets paid out to it: withdrawals, queue payouts, recovery")
    pnl: AmountOut = Field(
        description="Profit and loss so far: assets + queued_assets + withdrawn − deposited, a signed decimal "
        "string: interest earned less losses borne (negative: the lender has lost)",
        examples=["1250", "-300"],
    )
    token_balance: AmountOut = Field(description="The lender's own token balance")


class PoolOut(OutSchema):
    chain_id: int
    house: str = Field(description="The ClearingHouse contract, which holds the pool")
    token: str = Field(description="The settlement token lenders lend")
    total: AmountOut = Field(description="The pool's equity: deposits + interest charged − losses − withdrawals")
    drawn: AmountOut = Field(description="Lent out to members (Σ of their negative balances)")
    available: AmountOut = Field(description="total − drawn: what can leave the pool now, altogether")
    utilisation_bps: int = Field(description="drawn / total in basis points, rounded down", examples=[2500])
    escrowed: AmountOut = Field(description="Held in cycle escrows (not part of the pool)")
    total_shares: AmountOut = Field(description="All shares, queued ones included")
    queued_shares: AmountOut = Field(description="Shares waiting in the withdrawal queue")
    queued_assets: AmountOut = Field(description="What the queued shares are worth now, rounded down")
    assets_per_share_1e18: AmountOut = Field(
        description="The share price × 10^18: what 10^18 shares redeem for now, rounded down"
    )
    borrow_rate_bps: int = Field(description="Borrowers' annual rate now: base + slope × utilisation", examples=[725])
    supply_rate_bps: int = Field(
        description="What lenders earn a year on the pool now: borrow rate × utilisation, rounded down", examples=[181]
    )
    base_rate_bps: int = Field(description="The rate model's annual base rate")
    slope_rate_bps: int = Field(description="The rate model's annual slope at full utilisation")
    queue_head: int = Field(description="Requests queue_head ≤ id < queue_tail may still wait")
    queue_tail: int
    paused: bool = Field(description="While paused no pool call moves funds")
    lender: LenderOut | None = Field(default=None, description="With ?lender=: that lender's position")


class QueueOut(OutSchema):
    head: int
    tail: int
    queued_shares: AmountOut
    queued_assets: AmountOut
    requests: list[QueuedRequestOut] = Field(description="Requests still waiting, in payment order")
    next: int | None = Field(description="Pass as ?after= for the next page; null at the end of the queue")


class DepositIn(Schema):
    lender: str = Field(pattern=_ADDRESS, description="The lender's wallet address (it signs)")
    amount: AmountIn


class PoolWithdrawalIn(Schema):
    lender: str = Field(pattern=_ADDRESS, description="The lender's wallet address (it signs)")
    amount: AmountIn = Field(description="Assets to take out (shares burned are rounded up)")
    to: str | None = Field(default=None, pattern=_ADDRESS, description="Recipient (default: the lender)")


class RedeemIn(Schema):
    lender: str = Field(pattern=_ADDRESS, description="The lender's wallet address (it signs)")
    shares: AmountIn = Field(description="Shares to burn (assets paid are rounded down)")
    to: str | None = Field(default=None, pattern=_ADDRESS, description="Recipient (default: the lender)")


class QueueIn(Schema):
    lender: str = Field(pattern=_ADDRESS, description="The lender's wallet address (it signs)")
    shares: AmountIn = Field(description="Shares to queue for withdrawal")


class CancelIn(Schema):
    lender: str = Field(pattern=_ADDRESS, description="The lender's wallet address (it signs)")
    id: JsonInt = Field(ge=0, le=JSON_SAFE_MAX, description="The request to cancel (its rest comes back to the lender)")


class PreparedOut(OutSchema):
    transactions: list[UnsignedTxOut] = Field(description="Sign and send in this order from the lender's wallet")
    lender: LenderOut
