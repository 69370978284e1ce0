"""Headroom: how much more net debit a member can take on, and the top-up it needs.

*Headroom* = free on-chain collateral + pledged collateral (the asset vault's
value × loan-to-value, stale valuations 0) + unused credit line − net debit
already reserved in the open cycle (Mojaloop's net debit cap). It is signed:
negative means the member is already over its cap (e.g. collateral was
seized or the credit line cut after obligations were accepted).

>>> headroom(free_collateral=1_000, credit_line=500, credit_used=200, reserved_net_debit=900)
400
>>> topup_needed(1_000, 500, 200, 900, carried_net_debit=650)
250
>>> topup_needed(1_000, 500, 200, 900, carried_net_debit=400)
0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from clearing.domain.vocabulary import ObligationStatus as S
from clearing.errors import ValidationError

__all__ = [
    "RESERVED_CREDIT",
    "RESERVED_DEBIT",
    "Liquidity",
    "MemberBalances",
    "headroom",
    "liquidity_of",
    "reservation_delta",
    "topup_needed",
]

#: Statuses whose amount a debtor has reserved against its headroom.
RESERVED_DEBIT = frozenset({S.ACCEPTED, S.NETTED, S.CARRIED, S.ESCROW})
#: Statuses whose amount counts as incoming for the creditor: only what will be netted in,
#: never escrow or carried debts of others, so incoming value is not counted before it is likely.
RESERVED_CREDIT = frozenset({S.ACCEPTED, S.NETTED})


def _amount(name: str, value: int) -> int:
    if type(value) is not int:
        raise ValidationError(f"{name} must be an integer, got {type(value).__name__}", field=name)
    if value < 0:
        raise ValidationError(f"{name} must be ≥ 0, got {value}", field=name, **{name: value})
    return value


def headroom(free_collateral: int, credit_line: int, credit_used: int, reserved_net_debit: int) -> int:
    """``free_collateral + (credit_line − credit_used) − reserved_net_debit`` (signed).

    All inputs are integers ≥ 0 and ``credit_used ≤ credit_line``.
    ``reserved_net_debit`` is the member's net debit reserved in the open
    cycle (0 when it is a net creditor: expected receipts are not liquidity
    until they settle).

    >>> headroom(0, 0, 0, 5)
    -5
    >>> headroom(10, 5, 6, 0)
    Traceback (most recent call last):
    ...
    clearing.errors.ValidationError: credit_used (6) exceeds credit_line (5)
    """
    _amount("free_collateral", free_collateral)
    _amount("credit_line", credit_line)
    _amount("credit_used", credit_used)
    _amount("reserved_net_debit", reserved_net_debit)
    if credit_used > credit_line:
        raise ValidationError(
            f"credit_used ({credit_used}) exceeds credit_line ({credit_line})",
            field="credit_used",
            credit_used=credit_used,
            credit_line=credit_line,
        )
    return free_collateral + (credit_line - credit_used) - reserved_net_debit


def topup_needed(
    free_collateral: int, credit_line: int, credit_used: int, reserved_net_debit: int, carried_net_debit: int
) -> int:
    """The exact collateral top-up that lets the member's carried obligations settle.

    ``carried_net_debit`` is the extra net debit those obligations add
    (e.g. the sum of the member's carried or queued obligations, or its
    net debit over them when it also receives). The answer is the smallest
    ``t ≥ 0`` with ``headroom(free_collateral + t, ...) ≥ carried_net_debit``:
    one unit less would leave the last of them unpaid.

    Credit used beyond the line (interest charged past it, or a line lowered) is a deficit the top-up
    covers first, as :attr:`Liquidity.headroom` counts it.

    >>> topup_needed(0, 0, 0, 0, 0)
    0
    >>> topup_needed(0, 100, 0, 0, 101)
    1
    >>> topup_needed(0, 100, 103, 0, 0)
    3
    """
    _amount("carried_net_debit", carried_net_debit)
    over = max(0, _amount("credit_used", credit_used) - _amount("credit_line", credit_line))
    room = headroom(free_collateral, credit_line + over, credit_used, reserved_net_debit) - over
    return max(0, carried_net_debit - room)


def reservation_delta(old: str | None, new: str) -> tuple[int, int]:
    """(debit sign, credit sign) change of the reserved sums when an obligation moves ``old`` → ``new``.

    >>> reservation_delta(None, "accepted"), reservation_delta("netted", "carried"), reservation_delta("held", "held")
    ((1, 1), (0, -1), (0, 0))
    """
    d = (new in RESERVED_DEBIT) - (old in RESERVED_DEBIT if old else 0)
    c = (new in RESERVED_CREDIT) - (old in RESERVED_CREDIT if old else 0)
    return int(d), int(c)


class MemberBalances(Protocol):
    """What a member's liquidity is computed from (a ledger row or any object with these attributes)."""

    @property
    def chain_balance(self) -> int: ...
    @property
    def chain_credit_limit(self) -> int: ...
    @property
    def credit_line(self) -> int: ...
    @property
    def pending_withdrawal(self) -> int: ...
    @property
    def reserved_debit(self) -> int: ...
    @property
    def reserved_credit(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Liquidity:
    """A member's position as the headroom check sees it (all ints)."""

    collateral: int  # signed on-chain balance mirror
    free_collateral: int  # max(0, balance) less pending withdrawals
    credit_line: int  # min(ledger line, on-chain limit)
    credit_used: int  # max(0, -balance)
    reserved_debit: int
    reserved_credit: int
    pending_withdrawal: int
    #: The asset vault's ``collateralValueOf``: pledged value × LTV, stale valuations 0 (mirror; never withdrawable).
    pledged_collateral: int = 0

    @property
    def reserved_net_debit(self) -> int:
        return max(0, self.reserved_debit - self.reserved_credit)

    @property
    def open_position(self) -> int:
        """Receipts minus payments over reserved obligations (positive: net creditor)."""
        return self.reserved_credit - self.reserved_debit

    @property
    def headroom(self) -> int:
        # Credit used beyond the line (the line was lowered) is a deficit, not unused credit.
        over = max(0, self.credit_used - self.credit_line)
        line = max(self.credit_line, self.credit_used)
        collateral = self.free_collateral + self.pledged_collateral
        return headroom(collateral, line, self.credit_used, self.reserved_net_debit) - over

    @property
    def withdrawable(self) -> int:
        """Free collateral that can leave without pushing headroom below zero (pledges never leave this way)."""
        return max(0, min(self.free_collateral, self.headroom))


def liquidity_of(
    member: MemberBalances,
    *,
    reserved_debit: int | None = None,
    reserved_credit: int | None = None,
    pledged: int | None = None,
) -> Liquidity:
    """A member's liquidity from its on-chain mirror and reserved sums (optionally overridden).

    ``pledged`` (default: the member's ``chain_pledge_value`` when it has one, else 0) is its collateral
    in the asset vault: value × LTV, stale valuations 0, as chain sync mirrors it.

    >>> from types import SimpleNamespace as M
    >>> m = M(chain_balance=-30, chain_credit_limit=100, credit_line=80, pending_withdrawal=0,
    ...       reserved_debit=70, reserved_credit=20)
    >>> liq = liquidity_of(m)
    >>> liq.credit_line, liq.credit_used, liq.reserved_net_debit, liq.headroom
    (80, 30, 50, 0)
    >>> liquidity_of(m, pledged=25).headroom, liquidity_of(m, pledged=25).withdrawable
    (25, 0)
    """
    balance = member.chain_balance
    pending = member.pending_withdrawal
    return Liquidity(
        collateral=balance,
        free_collateral=max(0, max(0, balance) - pending),
        credit_line=max(0, min(member.credit_line, member.chain_credit_limit)),
        credit_used=max(0, -balance),
        reserved_debit=member.reserved_debit if reserved_debit is None else reserved_debit,
        reserved_credit=member.reserved_credit if reserved_credit is None else reserved_credit,
        pending_withdrawal=pending,
        pledged_collateral=max(0, getattr(member, "chain_pledge_value", 0) if pledged is None else pledged),
    )
