"""The credit pool as lenders see it: its state, and the calls a lender's own wallet makes.

Lenders fund members' credit lines by lending the settlement token to the
house's pool. The house never holds a lender's key nor moves its funds, so
depositing and withdrawing are the lender's own transactions: this service
reads the pool from the chain and returns the exact unsigned calls for the
lender's wallet (``approve`` then ``poolDeposit``; ``poolWithdraw``),
refusing up front what the contract would refuse. Everything here is public
on chain, so the API serves it without a key.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_utils.address import is_hex_address, to_checksum_address

from clearing.adapters.chain.client import UnsignedTx
from clearing.adapters.chain.deploy import Contracts
from clearing.domain.release import BPS
from clearing.errors import Conflict, ServiceUnavailable, ValidationError
from clearing.services.context import ServiceContext


@dataclass(frozen=True, slots=True)
class PoolView:
    chain_id: int
    house: str
    token: str
    #: Σ lender deposits.
    total: int
    #: Lent out to members: Σ of their negative balances.
    drawn: int
    #: total − drawn: what lenders can withdraw now, altogether.
    available: int
    #: drawn / total in basis points, rounded down (0 for an empty pool).
    utilisation_bps: int
    #: Held in cycle escrows (not the pool's, shown for the house's whole balance).
    escrowed: int


@dataclass(frozen=True, slots=True)
class LenderView:
    lender: str
    deposited: int
    #: min(deposited, pool available): what one withdrawal can take now.
    withdrawable: int
    #: deposited / pool total in basis points, rounded down.
    share_bps: int
    #: The lender's own token balance (what it could deposit).
    token_balance: int


@dataclass(frozen=True, slots=True)
class Prepared:
    """Transactions for the lender's wallet, in order, and the lender as it stands before them."""

    transactions: tuple[UnsignedTx, ...]
    lender: LenderView


def _chain(ctx: ServiceContext) -> Contracts:
    if ctx.contracts is None:
        raise ServiceUnavailable("this server has no chain: the pool is not available", field=None)
    return ctx.contracts


def _address(value: str, field: str) -> str:
    if not is_hex_address(value):
        raise ValidationError(f"{field} must be a 20-byte 0x-hex EVM address", field=field, **{field: value[:100]})
    return to_checksum_address(value)


def status(ctx: ServiceContext) -> PoolView:
    """Pool total, drawn, available and utilisation, read from the chain."""
    c = _chain(ctx)
    total, drawn = c.house.pool_total(), c.house.credit_drawn()
    return PoolView(
        chain_id=c.chain.chain_id,
        house=c.house.address,
        token=c.token.address,
        total=total,
        drawn=drawn,
        available=total - drawn,
        utilisation_bps=drawn * BPS // total if total else 0,
        escrowed=c.house.total_escrowed(),
    )


def lender(ctx: ServiceContext, address: str) -> LenderView:
    c = _chain(ctx)
    who = _address(address, "lender")
    deposited, total = c.house.lender_balance(who), c.house.pool_total()
    return LenderView(
        lender=who,
        deposited=deposited,
        withdrawable=min(deposited, total - c.house.credit_drawn()),
        share_bps=deposited * BPS // total if total else 0,
        token_balance=c.token.balance_of(who),
    )


def prepare_deposit(ctx: ServiceContext, address: str, amount: int) -> Prepared:
    """``approve(house, amount)`` (only if the allowance is short) then ``poolDeposit(amount)``."""
    c = _chain(ctx)
    view = lender(ctx, address)
    if amount > view.token_balance:
        raise Conflict(
            f"the lender holds {view.token_balance} tokens, cannot lend {amount}",
            field="amount",
            available=view.token_balance,
            needed=amount,
        )
    txs = []
    if c.token.allowance(view.lender, c.house.address) < amount:
        txs.append(c.token.unsigned("approve", c.house.address, amount, sender=view.lender))
    txs.append(c.house.unsigned("poolDeposit", amount, sender=view.lender))
    return Prepared(transactions=tuple(txs), lender=view)


def prepare_withdrawal(ctx: ServiceContext, address: str, amount: int, to: str | None = None) -> Prepared:
    """``poolWithdraw(amount, to)``: at most the lender's deposit and the undrawn part of the pool."""
    c = _chain(ctx)
    view = lender(ctx, address)
    recipient = _address(to, "to") if to is not None else view.lender
    if amount > view.deposited:
        raise Conflict(
            f"the lender has {view.deposited} in the pool, cannot withdraw {amount}",
            field="amount",
            available=view.deposited,
            needed=amount,
        )
    if amount > view.withdrawable:
        raise Conflict(
            f"only {view.withdrawable} of the pool is undrawn now (members have drawn the rest), asked {amount}",
            field="amount",
            available=view.withdrawable,
            needed=amount,
        )
    tx = c.house.unsigned("poolWithdraw", amount, recipient, sender=view.lender)
    return Prepared(transactions=(tx,), lender=view)
