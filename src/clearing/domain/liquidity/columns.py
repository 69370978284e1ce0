"""The columnar instance the at-scale solver works on, and its exact integer check.

At 100,000 obligations and more, one Python object per obligation costs more
than the whole LP solve (building and validating :class:`Obligation`
objects, then the per-obligation lists of :class:`~clearing.domain.liquidity.problem.Problem`).
:class:`Columns` holds the same instance as parallel numpy arrays: member
indices (members ``0..m-1`` in sorted-name order, as in ``Problem``),
amounts in ``int64`` and available liquidity clipped to each member's gross
debit (a net debit never exceeds the gross debit, so clipping changes no
answer and keeps every figure in ``int64``). It applies only when the total
of all amounts is below 2^62, so every partial sum and net debit is exact in
``int64``; callers fall back to the object path otherwise.

>>> cols = Columns.build(["1", "2", "3"], ["a", "b", "c"], ["b", "c", "a"], [100, 100, 30], {"a": 10})
>>> cols.names, cols.d.tolist(), cols.c.tolist(), cols.avail.tolist()
(['a', 'b', 'c'], [0, 1, 2], [1, 2, 0], [10, 0, 0])
>>> import numpy as np
>>> cols.net_debits(np.array([True, True, True])).tolist()  # a pays 100, gets 30
[70, 0, -70]
>>> cols.check(np.array([False, False, True]))  # c pays 30 with nothing available
Traceback (most recent call last):
...
clearing.domain.errors.NettingInfeasible: member 'c': net debit 30 over the settled set exceeds its available 0
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from clearing.domain.errors import (
    DuplicateObligation,
    InvalidObligation,
    NettingInfeasible,
    NonPositiveAmount,
    SelfObligation,
)
from clearing.domain.liquidity.problem import validate_available
from clearing.domain.types import Obligation

__all__ = ["Columns", "INT64_SAFE_TOTAL"]

#: Largest total of all amounts the columnar path takes: below it every sum of
#: amounts (and their differences) fits ``int64`` with room to spare.
INT64_SAFE_TOTAL = 2**62

Ints = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Columns:
    """Obligations as parallel arrays (input order), members by index (sorted names)."""

    ids: Sequence[str]
    names: list[str]
    d: Ints  # debtor index per obligation
    c: Ints  # creditor index per obligation
    a: Ints  # amount per obligation, > 0
    available: list[int]  # each member's available amount as given (0 if missing), exact
    avail: Ints  # min(available, gross debit): the same limits, in int64
    gross_debit: Ints
    total: int

    @property
    def n(self) -> int:
        return int(self.a.shape[0])

    @property
    def m(self) -> int:
        return len(self.names)

    @classmethod
    def build(
        cls,
        ids: Sequence[str],
        debtors: Sequence[str],
        creditors: Sequence[str],
        amounts: Sequence[int] | npt.NDArray[np.int64],
        available: Mapping[str, int],
    ) -> Columns:
        """Validate parallel columns and index them; ``None`` if amounts are too large for ``int64``.

        Raises the same errors as :func:`~clearing.domain.netting.validate_obligations`
        (naming the first bad obligation) and
        :func:`~clearing.domain.liquidity.problem.validate_available`.
        """
        n = len(ids)
        if not (len(debtors) == len(creditors) == len(amounts) == n):
            raise InvalidObligation("ids, debtors, creditors and amounts differ in length", field="obligation")
        _check_names(ids, debtors, creditors)
        a = _amounts(ids, amounts)
        avail_map = validate_available(available)
        names = sorted(set(debtors) | set(creditors))
        index = {name: k for k, name in enumerate(names)}
        d = np.fromiter(map(index.__getitem__, debtors), dtype=np.int64, count=n)
        c = np.fromiter(map(index.__getitem__, creditors), dtype=np.int64, count=n)
        if n and bool((d == c).any()):
            i = int(np.flatnonzero(d == c)[0])
            raise SelfObligation(
                f"obligation {ids[i]!r}: debtor and creditor are both {debtors[i]!r}",
                field="creditor",
                obligation=ids[i],
            )
        m = len(names)
        gross = np.zeros(m, dtype=np.int64)
        np.add.at(gross, d, a)
        given = [avail_map.get(name, 0) for name in names]
        clipped = np.array([min(g, int(x)) for g, x in zip(given, gross.tolist(), strict=True)], dtype=np.int64)
        return cls(ids, names, d, c, a, given, clipped, gross, int(a.sum()))

    @staticmethod
    def fits(amounts: Sequence[int] | npt.NDArray[np.int64]) -> bool:
        """True if the columnar path holds these amounts exactly (total below 2^61, with margin for float rounding)."""
        if isinstance(amounts, np.ndarray):
            return amounts.dtype == np.int64 and float(amounts.astype(np.float64).sum()) < INT64_SAFE_TOTAL / 2
        return all(type(v) is int for v in amounts) and sum(amounts) < INT64_SAFE_TOTAL / 2

    @classmethod
    def from_obligations(cls, obs: Sequence[Obligation], available: Mapping[str, int]) -> Columns:
        """Index already validated obligations (priority flags are not carried)."""
        return cls.build(
            [o.id for o in obs], [o.debtor for o in obs], [o.creditor for o in obs], [o.amount for o in obs], available
        )

    def net_debits(self, settled: Mask) -> Ints:
        """Each member's exact net debit (payments − receipts) over the settled obligations."""
        w = np.where(settled, self.a, 0)
        net = np.zeros(self.m, dtype=np.int64)
        np.add.at(net, self.d, w)
        np.subtract.at(net, self.c, w)
        return net

    def check(self, settled: Mask) -> Ints:
        """Exact check: every net debit ≤ the member's available amount; returns the net debits.

        Raises :class:`~clearing.domain.errors.NettingInfeasible` otherwise,
        so a solver bug never reaches a settlement.
        """
        net = self.net_debits(settled)
        over = np.flatnonzero(net > self.avail)
        if over.size:
            k = int(over[0])
            raise NettingInfeasible(
                f"member {self.names[k]!r}: net debit {int(net[k])} over the settled set "
                f"exceeds its available {self.available[k]}"
            )
        if int(net.sum()) != 0:
            raise NettingInfeasible("net positions do not sum to zero")
        return net


def _check_names(ids: Sequence[str], debtors: Sequence[str], creditors: Sequence[str]) -> None:
    """Non-empty string ids, debtors and creditors; unique ids. Slow scan only to name the culprit."""
    for field, col in (("id", ids), ("debtor", debtors), ("creditor", creditors)):
        if set(map(type, col)) <= {str} and all(col):  # the common case, in C
            continue
        if not all(type(v) is str and v for v in col):
            i = next(i for i, v in enumerate(col) if type(v) is not str or not v)
            shown = ids[i] if field != "id" else col[i]
            raise InvalidObligation(
                f"obligation {shown!r}: {field} must be a non-empty string, got {col[i]!r}",
                field=field,
                obligation=shown,
            )
    if len(set(ids)) != len(ids):
        seen: set[str] = set()
        for oid in ids:
            if oid in seen:
                raise DuplicateObligation(f"obligation {oid!r}: duplicate id", field="id", obligation=oid)
            seen.add(oid)


def _amounts(ids: Sequence[str], amounts: Sequence[int] | npt.NDArray[np.int64]) -> Ints:
    """Amounts as ``int64``: every one an int > 0, their total below :data:`INT64_SAFE_TOTAL`."""
    if isinstance(amounts, np.ndarray) and amounts.dtype == np.int64:
        a = amounts
    else:
        for i, v in enumerate(amounts):
            if type(v) is not int:
                raise NonPositiveAmount(
                    f"obligation {ids[i]!r}: amount must be an integer, got {type(v).__name__}",
                    field="amount",
                    obligation=ids[i],
                )
        if sum(amounts) >= INT64_SAFE_TOTAL or any(v >= INT64_SAFE_TOTAL for v in amounts):
            raise InvalidObligation("amounts too large for the columnar path; use the object path", field="amount")
        a = np.array(amounts, dtype=np.int64)
    if a.size and int(a.min()) <= 0:
        i = int(np.flatnonzero(a <= 0)[0])
        raise NonPositiveAmount(
            f"obligation {ids[i]!r}: amount must be > 0, got {int(a[i])}",
            field="amount",
            obligation=ids[i],
            amount=int(a[i]),
        )
    if a.size and (int(a.max()) >= INT64_SAFE_TOTAL or float(a.astype(np.float64).sum()) >= INT64_SAFE_TOTAL / 2):
        raise InvalidObligation("amounts too large for the columnar path; use the object path", field="amount")
    return a
