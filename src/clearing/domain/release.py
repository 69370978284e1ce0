"""Release modes of a committed cycle's escrow: how much each creditor gets, how a refund splits.

The contract pays creditors from a cycle's escrow in full, per creditor,
pro rata (``floor(pending × bps / 10000)``, against the creditor so the
escrow is never over-paid) or later, and refunds what is not released to
debtors, cancelling the same total of pending credit. These functions
compute, exactly and before anything is sent, what one such call will move,
so the service can check it, record it and recognise its effect on chain.
Plain integers in and out; addresses (or any keys) are opaque.

>>> pro_rata_shares({"0xc1": 1001, "0xc2": 3}, 5000)
{'0xc1': 500, '0xc2': 1}
>>> refund_split(10, {"0xd1": 30, "0xd2": 20})
{'0xd1': 6, '0xd2': 4}
"""

from __future__ import annotations

from collections.abc import Mapping

from clearing.errors import ReleaseRefused

__all__ = ["BPS", "check_amounts", "check_refund", "pro_rata_shares", "refund_split"]

#: Basis points in a whole.
BPS = 10_000


def pro_rata_shares(pending: Mapping[str, int], bps: int) -> dict[str, int]:
    """What ``releaseCycleProRata(bps)`` pays each creditor: ``floor(pending × bps / 10000)``; zero shares left out.

    >>> pro_rata_shares({"a": 3, "b": 0}, 10_000)
    {'a': 3}
    >>> pro_rata_shares({"a": 1}, 0)
    Traceback (most recent call last):
    ...
    clearing.errors.ReleaseRefused: bps must be within 1..10000, got 0
    """
    if type(bps) is not int or not 1 <= bps <= BPS:
        raise ReleaseRefused(f"bps must be within 1..{BPS}, got {bps}", field="bps", bps=bps)
    shares = {c: p * bps // BPS for c, p in pending.items()}
    return {c: v for c, v in shares.items() if v > 0}


def check_amounts(requested: Mapping[str, int], available: Mapping[str, int], *, field: str, what: str) -> None:
    """Every requested amount is positive and at most what ``available`` holds for that key.

    >>> check_amounts({"a": 5}, {"a": 5}, field="amounts", what="pending credit")
    >>> check_amounts({"a": 6}, {"a": 5}, field="amounts", what="pending credit")
    Traceback (most recent call last):
    ...
    clearing.errors.ReleaseRefused: amounts.a: 6 exceeds its pending credit 5
    """
    for key, amount in requested.items():
        if type(amount) is not int or amount <= 0:
            raise ReleaseRefused(f"{field}.{key}: amount must be > 0", field=f"{field}.{key}")
        have = available.get(key, 0)
        if amount > have:
            raise ReleaseRefused(
                f"{field}.{key}: {amount} exceeds its {what} {have}",
                field=f"{field}.{key}",
                requested=amount,
                available=have,
            )


def refund_split(total: int, debits: Mapping[str, int]) -> dict[str, int]:
    """``total`` split over debtors in proportion to what each can still be refunded, exactly.

    Shares are rounded down, then the units left over go one each to the
    largest remainders (ties: the smaller key), so they sum to ``total`` and
    none exceeds its debtor's debit. ``total`` must not exceed the sum of
    ``debits`` (the contract keeps Σ pending ≤ Σ debit).

    >>> refund_split(3, {"a": 1, "b": 1, "c": 1})
    {'a': 1, 'b': 1, 'c': 1}
    >>> refund_split(1, {"b": 1, "a": 1})
    {'a': 1}
    >>> refund_split(5, {"a": 2})
    Traceback (most recent call last):
    ...
    clearing.errors.ReleaseRefused: cannot refund 5: debtors can get back only 2
    """
    room = sum(debits.values())
    if total < 0 or total > room:
        raise ReleaseRefused(f"cannot refund {total}: debtors can get back only {room}", field="refunds")
    if total == 0:
        return {}
    shares = {d: total * v // room for d, v in debits.items()}
    left = total - sum(shares.values())
    by_remainder = sorted(debits, key=lambda d: (-(total * debits[d] % room), d))
    for d in by_remainder[:left]:
        shares[d] += 1
    return {d: shares[d] for d in sorted(shares) if shares[d] > 0}


def check_refund(
    cancel: Mapping[str, int], refund: Mapping[str, int], pending: Mapping[str, int], debits: Mapping[str, int]
) -> None:
    """A refund the contract accepts: each cancel ≤ pending, each refund ≤ debit, equal totals.

    >>> check_refund({"c": 4}, {"d": 4}, {"c": 4}, {"d": 9})
    >>> check_refund({"c": 4}, {"d": 3}, {"c": 4}, {"d": 9})
    Traceback (most recent call last):
    ...
    clearing.errors.ReleaseRefused: a refund returns what it cancels: cancelled 4, refunded 3
    """
    if not cancel:
        raise ReleaseRefused("a refund cancels some pending credit: nothing is pending", field="cancel")
    check_amounts(cancel, pending, field="cancel", what="pending credit")
    check_amounts(refund, debits, field="refund", what="refundable debit")
    cancelled, refunded = sum(cancel.values()), sum(refund.values())
    if cancelled != refunded:
        raise ReleaseRefused(
            f"a refund returns what it cancels: cancelled {cancelled}, refunded {refunded}",
            field="refund",
            cancelled=cancelled,
            refunded=refunded,
        )
