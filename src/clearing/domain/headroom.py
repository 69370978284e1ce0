"""Headroom: how much more net debit a member can take on, and the top-up it needs.

*Headroom* = free on-chain collateral + unused credit line − net debit
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

from clearing.errors import ValidationError

__all__ = ["headroom", "topup_needed"]


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

    >>> topup_needed(0, 0, 0, 0, 0)
    0
    >>> topup_needed(0, 100, 0, 0, 101)
    1
    """
    _amount("carried_net_debit", carried_net_debit)
    room = headroom(free_collateral, credit_line, credit_used, reserved_net_debit)
    return max(0, carried_net_debit - room)
