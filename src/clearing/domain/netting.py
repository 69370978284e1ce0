"""Multilateral and bilateral netting.

A member's *net position* is what it receives minus what it pays. Over any
set of obligations the positions sum to exactly zero, do not depend on the
order of the obligations, and do not change when an obligation is split in
two. Everything is exact integer arithmetic on amounts of any ``uint256``
size.

>>> from clearing.domain.types import Obligation
>>> obs = [Obligation("1", "a", "b", 100), Obligation("2", "b", "c", 70),
...        Obligation("3", "c", "a", 30)]
>>> net_positions(obs)
{'a': -70, 'b': 30, 'c': 40}
>>> bilateral_positions(obs + [Obligation("4", "b", "a", 25)])
{('a', 'b'): 75, ('b', 'c'): 70, ('a', 'c'): -30}
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Sequence

import numpy as np

from clearing.domain.errors import (
    AmountOutOfRange,
    DuplicateObligation,
    InvalidObligation,
    NettingInfeasible,
    NonPositiveAmount,
    SelfObligation,
    UnknownMember,
)
from clearing.domain.types import UINT256_MAX, Obligation

__all__ = [
    "validate_obligations",
    "net_positions",
    "bilateral_positions",
    "net_positions_array",
]


def validate_obligations(
    obligations: Iterable[Obligation], members: Collection[str] | None = None
) -> tuple[Obligation, ...]:
    """Check every obligation and return them as a tuple (input order kept).

    Rejects, with a specific :class:`~clearing.errors.ValidationError`: a
    non-string or empty id/debtor/creditor, a duplicate id, debtor ==
    creditor, an amount that is not an ``int`` (``bool`` included) or is
    ≤ 0 or > 2^256 − 1, and, when ``members`` is given, a debtor or
    creditor outside it.

    >>> validate_obligations([Obligation("x", "a", "a", 5)])
    Traceback (most recent call last):
    ...
    clearing.domain.errors.SelfObligation: obligation 'x': debtor and creditor are both 'a'
    >>> validate_obligations([Obligation("x", "a", "b", 5)], members={"a"})
    Traceback (most recent call last):
    ...
    clearing.domain.errors.UnknownMember: obligation 'x': creditor 'b' is not a member
    """
    obs = tuple(obligations)
    allowed = None if members is None else frozenset(members)
    seen: set[str] = set()
    for ob in obs:
        if not isinstance(ob, Obligation):
            raise InvalidObligation(f"expected an Obligation, got {type(ob).__name__}", field="obligation")
        oid = ob.id
        if not isinstance(oid, str) or not oid:
            raise InvalidObligation(
                f"obligation id must be a non-empty string, got {oid!r}", field="id", obligation=oid
            )
        if oid in seen:
            raise DuplicateObligation(f"obligation {oid!r}: duplicate id", field="id", obligation=oid)
        seen.add(oid)
        for field in ("debtor", "creditor"):
            who = getattr(ob, field)
            if not isinstance(who, str) or not who:
                raise InvalidObligation(
                    f"obligation {oid!r}: {field} must be a non-empty string, got {who!r}", field=field, obligation=oid
                )
            if allowed is not None and who not in allowed:
                raise UnknownMember(
                    f"obligation {oid!r}: {field} {who!r} is not a member", field=field, obligation=oid, member=who
                )
        if ob.debtor == ob.creditor:
            raise SelfObligation(
                f"obligation {oid!r}: debtor and creditor are both {ob.debtor!r}", field="creditor", obligation=oid
            )
        amount = ob.amount
        if type(amount) is not int:  # bool and float are not amounts
            raise NonPositiveAmount(
                f"obligation {oid!r}: amount must be an integer, got {type(amount).__name__}",
                field="amount",
                obligation=oid,
            )
        if amount <= 0:
            raise NonPositiveAmount(
                f"obligation {oid!r}: amount must be > 0, got {amount}", field="amount", obligation=oid, amount=amount
            )
        if amount > UINT256_MAX:
            raise AmountOutOfRange(
                f"obligation {oid!r}: amount does not fit a uint256", field="amount", obligation=oid, amount=amount
            )
        if not isinstance(ob.priority, bool):
            raise InvalidObligation(f"obligation {oid!r}: priority must be a bool", field="priority", obligation=oid)
    return obs


def net_positions(obligations: Iterable[Obligation], members: Collection[str] | None = None) -> dict[str, int]:
    """Net position (receipts − payments) of each member, exact ints.

    Keys are the members that appear in ``obligations`` or, when ``members``
    is given, every member of that set (zero if it has no obligation); an
    obligation naming a member outside ``members`` raises
    :class:`~clearing.domain.errors.UnknownMember`. Keys are sorted.

    >>> net_positions([Obligation("1", "a", "b", 2**200)], members={"a", "b", "c"})  # doctest: +NORMALIZE_WHITESPACE
    {'a': -1606938044258990275541962092341162602522202993782792835301376,
     'b': 1606938044258990275541962092341162602522202993782792835301376, 'c': 0}
    >>> net_positions([])
    {}
    """
    obs = validate_obligations(obligations, members)
    pos: dict[str, int] = dict.fromkeys(members, 0) if members is not None else {}
    for ob in obs:
        pos[ob.debtor] = pos.get(ob.debtor, 0) - ob.amount
        pos[ob.creditor] = pos.get(ob.creditor, 0) + ob.amount
    if sum(pos.values()) != 0:  # cannot happen; checked because money depends on it
        raise NettingInfeasible("net positions do not sum to zero")
    return {m: pos[m] for m in sorted(pos)}


def bilateral_positions(obligations: Iterable[Obligation]) -> dict[tuple[str, str], int]:
    """Net amount owed within each pair that traded, exact ints.

    The key is the pair in sorted order ``(x, y)`` with ``x < y``; the value
    is what ``x`` owes ``y`` net (negative: ``y`` owes ``x``; zero: they
    cancel). Pairs appear in order of their first obligation.

    >>> bilateral_positions([Obligation("1", "b", "a", 9), Obligation("2", "a", "b", 9)])
    {('a', 'b'): 0}
    """
    obs = validate_obligations(obligations)
    out: dict[tuple[str, str], int] = {}
    for ob in obs:
        if ob.debtor < ob.creditor:
            key, signed = (ob.debtor, ob.creditor), ob.amount
        else:
            key, signed = (ob.creditor, ob.debtor), -ob.amount
        out[key] = out.get(key, 0) + signed
    return out


# --------------------------------------------------------------------------
# Vectorised netting for large batches.

_INT64_SAFE_TOTAL = 2.0**62  # float total below this proves the exact total < 2**63


def net_positions_array(
    debtor_idx: Sequence[int] | np.ndarray,
    creditor_idx: Sequence[int] | np.ndarray,
    amounts: Sequence[int] | np.ndarray,
    n_members: int,
) -> np.ndarray:
    """Net positions of members ``0..n_members-1`` from parallel arrays.

    Exact for any ``uint256`` amounts. Fast path: when the amounts are a
    fixed-width integer array whose total is provably below 2^63, every
    partial sum fits ``int64`` and the positions are accumulated with
    ``np.add.at`` / ``np.subtract.at`` in ``int64`` (no floats); the result
    is an ``int64`` array. Otherwise the amounts are cut into limbs small
    enough that each limb's sums fit ``int64``, each limb is accumulated the
    same way, and the limbs are recombined in Python ints; the result is an
    ``object`` array of Python ints.

    Rejects an index outside ``0..n_members-1``, debtor == creditor, or an
    amount ≤ 0 or > 2^256 − 1, naming the first offending position.

    >>> net_positions_array([0, 1, 2], [1, 2, 0], [100, 70, 30], 3).tolist()
    [-70, 30, 40]
    >>> big = np.array([2**70, 2**70], dtype=object)
    >>> net_positions_array([0, 0], [1, 2], big, 3).tolist()
    [-2361183241434822606848, 1180591620717411303424, 1180591620717411303424]
    """
    if type(n_members) is not int or n_members < 0:
        raise InvalidObligation(f"n_members must be a non-negative int, got {n_members!r}", field="n_members")
    d = _index_array(debtor_idx, "debtor")
    c = _index_array(creditor_idx, "creditor")
    n = d.shape[0]
    if c.shape[0] != n:
        raise InvalidObligation(f"debtor and creditor arrays differ in length ({n} != {c.shape[0]})", field="creditor")
    amt = amounts if isinstance(amounts, np.ndarray) else _to_array(amounts)
    if amt.ndim != 1 or amt.shape[0] != n:
        raise InvalidObligation(f"amounts must be 1-D with {n} entries", field="amount")
    for name, idx in (("debtor", d), ("creditor", c)):
        if n and (idx.min() < 0 or idx.max() >= n_members):
            bad = int(np.flatnonzero((idx < 0) | (idx >= n_members))[0])
            raise UnknownMember(
                f"obligation #{bad}: {name} index {int(idx[bad])} outside 0..{n_members - 1}", field=name, index=bad
            )
    same = d == c
    if same.any():
        bad = int(np.flatnonzero(same)[0])
        raise SelfObligation(
            f"obligation #{bad}: debtor and creditor are both {int(d[bad])}", field="creditor", index=bad
        )

    if amt.dtype.kind in "iu":
        if n and amt.min() <= 0:
            bad = int(np.flatnonzero(amt <= 0)[0])
            raise NonPositiveAmount(
                f"obligation #{bad}: amount must be > 0, got {int(amt[bad])}", field="amount", index=bad
            )
        if amt.dtype.itemsize <= 8 and (n == 0 or float(amt.sum(dtype=np.float64)) < _INT64_SAFE_TOTAL):
            out = np.zeros(n_members, dtype=np.int64)
            a64 = amt.astype(np.int64, copy=False)
            np.add.at(out, c, a64)
            np.subtract.at(out, d, a64)
            return out
        if amt.dtype.itemsize > 8:
            amt = amt.astype(object)
        return _net_limbs(d, c, amt, n_members)
    if amt.dtype == object:
        _check_object_amounts(amt)
        return _net_limbs(d, c, amt, n_members)
    raise NonPositiveAmount(f"amounts must be integers, got dtype {amt.dtype}", field="amount")


def _to_array(values: Sequence[int]) -> np.ndarray:
    vals = list(values)
    if all(type(v) is int and 0 < v < 2**63 for v in vals):
        return np.array(vals, dtype=np.int64)
    return np.array(vals, dtype=object)  # keep Python ints, never floats


def _index_array(values: Sequence[int] | np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.size == 0:
        return np.zeros(0, dtype=np.intp)
    if arr.ndim != 1 or arr.dtype.kind not in "iu":
        raise InvalidObligation(f"{name} indices must be a 1-D integer array", field=name)
    return arr


def _check_object_amounts(amt: np.ndarray) -> None:
    for i, v in enumerate(amt.tolist()):
        if type(v) is not int:
            raise NonPositiveAmount(
                f"obligation #{i}: amount must be an integer, got {type(v).__name__}", field="amount", index=i
            )
        if v <= 0:
            raise NonPositiveAmount(f"obligation #{i}: amount must be > 0, got {v}", field="amount", index=i)
        if v > UINT256_MAX:
            raise AmountOutOfRange(f"obligation #{i}: amount does not fit a uint256", field="amount", index=i)


def _net_limbs(d: np.ndarray, c: np.ndarray, amt: np.ndarray, n_members: int) -> np.ndarray:
    """Exact positions for arbitrary Python-int amounts, limb by limb.

    Each limb is < 2**bits with n * 2**bits < 2**63, so one limb's running
    sums fit int64; limbs are recombined exactly as Python ints.
    """
    n = amt.shape[0]
    bits = 63 - max(1, math.ceil(math.log2(n + 1)))
    if amt.dtype != object:  # fixed width: cut limbs with numpy ops, no Python ints per row
        amt = amt.astype(np.uint64)
    mask = (1 << bits) - 1 if amt.dtype == object else np.uint64((1 << bits) - 1)
    top = int(amt.max()).bit_length() if n else 0
    total = [0] * n_members
    rest = amt
    shift = 0
    while shift < top:
        limb = (rest & mask).astype(np.int64)
        acc = np.zeros(n_members, dtype=np.int64)
        np.add.at(acc, c, limb)
        np.subtract.at(acc, d, limb)
        for m, v in enumerate(acc.tolist()):
            if v:
                total[m] += v << shift
        rest = rest >> (bits if amt.dtype == object else np.uint64(bits))
        shift += bits
    out = np.empty(n_members, dtype=object)
    out[:] = total
    return out
