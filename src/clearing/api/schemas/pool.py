"""The credit pool for lenders: status, a lender's position, and transactions to sign."""

from __future__ import annotations

from pydantic import Field

from clearing.api.schemas.common import AmountIn, AmountOut, OutSchema, Schema, UnsignedTxOut

_ADDRESS = r"^0x[0-9a-fA-F]{40}$"


class LenderOut(OutSchema):
    lender: str
    deposited: AmountOut
    withdrawable: AmountOut = Field(description="min(deposited, pool available)")
    share_bps: int = Field(description="deposited / pool total in basis points, rounded down")
    token_balance: AmountOut = Field(description="The lender's own token balance")


class PoolOut(OutSchema):
    chain_id: int
    house: str = Field(description="The ClearingHouse contract, which holds the pool")
    token: str = Field(description="The settlement token lenders lend")
    total: AmountOut = Field(description="Σ lender deposits")
    drawn: AmountOut = Field(description="Lent out to members (Σ of their negative balances)")
    available: AmountOut = Field(description="total − drawn: what lenders can withdraw now, altogether")
    utilisation_bps: int = Field(description="drawn / total in basis points, rounded down", examples=[2500])
    escrowed: AmountOut = Field(description="Held in cycle escrows (not part of the pool)")
    lender: LenderOut | None = Field(default=None, description="With ?lender=: that lender's position")


class DepositIn(Schema):
    lender: str = Field(pattern=_ADDRESS, description="The lender's wallet address (it signs)")
    amount: AmountIn


class PoolWithdrawalIn(Schema):
    lender: str = Field(pattern=_ADDRESS, description="The lender's wallet address (it signs)")
    amount: AmountIn
    to: str | None = Field(default=None, pattern=_ADDRESS, description="Recipient (default: the lender)")


class PreparedOut(OutSchema):
    transactions: list[UnsignedTxOut] = Field(description="Sign and send in this order from the lender's wallet")
    lender: LenderOut
