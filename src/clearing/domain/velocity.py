"""A debtor's velocity window: its obligations per second, as an exact running aggregate.

The risk rules need, for each new obligation, how many obligations the debtor
submitted in the last ``velocity_window_seconds`` and their total. Keeping the
window as per-second buckets with running sums makes that O(1) per
obligation, and lets a process cache a debtor's window as of a ledger
sequence number and top it up with only the rows past it.

>>> w = VelocityWindow.empty(100).advanced(3, 100, [(101, 2, 50), (105, 1, 7)])
>>> w.count, w.total, w.since(101)
(3, 57, (1, 7))
>>> w.advanced(4, 103, [(106, 1, 1)]).buckets
((105, 1, 7), (106, 1, 1))
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["WINDOW_SLACK", "VelocityWindow", "at", "per_second", "unix_seconds"]

#: Seconds of buckets kept before a window's start, so a call whose clock reads a little earlier than
#: the one that pruned (threads take ``now`` before they wait for the member lock) still finds its window.
WINDOW_SLACK = 300
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)

Bucket = tuple[int, int, int]


def unix_seconds(t: datetime) -> int:
    """Whole seconds since the epoch, rounded down, in integer arithmetic (as the ledger's ``floor(epoch)``)."""
    return (t - _EPOCH) // _SECOND


def at(unix: int) -> datetime:
    """The UTC time ``unix`` seconds after the epoch."""
    return _EPOCH + timedelta(seconds=unix)


def per_second(rows: Iterable[tuple[Any, Any]]) -> list[Bucket]:
    """``(second, amount)`` rows summed per second (amounts as Python ints: exact for any size).

    >>> sorted(per_second([(5, "10"), (5, 2), (6, 1)]))
    [(5, 2, 12), (6, 1, 1)]
    """
    sums: dict[int, list[int]] = {}
    for ts, amount in rows:
        slot = sums.setdefault(int(ts), [0, 0])
        slot[0] += 1
        slot[1] += int(amount)
    return [(ts, c, t) for ts, (c, t) in sums.items()]


def _second(bucket: Bucket) -> int:
    return bucket[0]


@dataclass(frozen=True, slots=True)
class VelocityWindow:
    """A debtor's obligations per unix second as committed up to ``seq``.

    ``buckets`` are ``(second, count, total)`` in ascending seconds and hold EVERY obligation of
    the debtor with ``debtor_seq <= seq`` whose second is ``> floor``; ``count``/``total`` are their
    sums. Immutable once built: threads of a process share the cached ones.
    """

    seq: int
    floor: int
    buckets: tuple[Bucket, ...]
    count: int
    total: int

    @classmethod
    def empty(cls, floor: int) -> VelocityWindow:
        return cls(0, floor, (), 0, 0)

    def since(self, start: int) -> tuple[int, int]:
        """(count, total) of the seconds ``> start`` (``start >= floor``)."""
        cut = bisect_right(self.buckets, start, key=_second)
        count, total = self.count, self.total
        for _, c, t in self.buckets[:cut]:
            count -= c
            total -= t
        return count, total

    def advanced(self, seq: int, floor: int, extra: list[Bucket]) -> VelocityWindow:
        """This window with ``extra`` buckets added (rows up to ``seq``), seconds ``<= floor`` dropped."""
        floor = max(floor, self.floor)
        cut = bisect_right(self.buckets, floor, key=_second)
        count, total = self.count, self.total
        for _, c, t in self.buckets[:cut]:
            count -= c
            total -= t
        kept = self.buckets[cut:]
        extra = sorted(b for b in extra if b[0] > floor)
        if not extra:
            return VelocityWindow(seq, floor, kept, count, total)
        if kept and extra[0][0] < kept[-1][0]:  # out of order (clock skew between writers): merge
            merged: dict[int, list[int]] = {}
            for ts, c, t in (*kept, *extra):
                slot = merged.setdefault(ts, [0, 0])
                slot[0] += c
                slot[1] += t
            buckets = tuple((ts, c, t) for ts, (c, t) in sorted(merged.items()))
            return VelocityWindow(seq, floor, buckets, sum(b[1] for b in buckets), sum(b[2] for b in buckets))
        grown = list(kept)
        for ts, c, t in extra:
            count += c
            total += t
            if grown and grown[-1][0] == ts:
                grown[-1] = (ts, grown[-1][1] + c, grown[-1][2] + t)
            else:
                grown.append((ts, c, t))
        return VelocityWindow(seq, floor, tuple(grown), count, total)
