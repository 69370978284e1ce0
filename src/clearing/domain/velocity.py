"""A debtor's obligations summed per unix second: the velocity window the risk rules read.

The velocity rules (:mod:`clearing.domain.risk`) need, for every new
obligation, how many obligations its debtor made and for how much within
the last ``velocity_window_seconds``. Re-summing the ledger on every call is
too slow, so the service keeps a :class:`VelocityWindow` per debtor: counts
and totals per second, valid up to a per-debtor sequence number, advanced
with the rows the ledger gained since. Pure and immutable, so threads can
share cached windows and tests can check it against a naive sum.

Which obligations count: those the house took on, at the second they were
created. Held and rejected ones do not (:data:`UNCOUNTED`): a hold is the
rules saying "not yet", and counting it would let one oversized held
obligation hold every later one of its debtor for a whole window. A held
obligation that a reviewer or the clock releases counts from then on, at
its own creation second (it joins the window as of when it was traded, so a
release long after the window has passed adds nothing); the ledger gives it
the debtor's next sequence number when it is released, so every cached
window sees it at its next top-up.

>>> w = VelocityWindow.empty(100).advanced(3, 100, [(105, 2, 70), (101, 1, 5), (99, 1, 1)])
>>> w.buckets, w.count, w.total  # second 99 is at or before the floor: never counted
(((101, 1, 5), (105, 2, 70)), 3, 75)
>>> w.since(101)  # the seconds > 101
(2, 70)
>>> w.advanced(4, 101, []).buckets  # seconds <= 101 dropped
((105, 2, 70),)
>>> unix_seconds(at(1_700_000_000)), per_second([(7, "10"), (7, 5), (8, 1)])
(1700000000, [(7, 2, 15), (8, 1, 1)])
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from clearing.domain.vocabulary import ObligationStatus

__all__ = ["VelocityWindow", "UNCOUNTED", "WINDOW_SLACK", "unix_seconds", "at", "per_second"]

#: Statuses whose obligations are not in any velocity window (see the module doc).
UNCOUNTED = frozenset({ObligationStatus.HELD, ObligationStatus.REJECTED})

#: Seconds of buckets kept before a window's start, so a call whose clock reads a little earlier than
#: the one that pruned (threads take ``now`` before they wait for the member lock) still finds its window.
WINDOW_SLACK = 300
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)


def unix_seconds(t: datetime) -> int:
    """Whole seconds since the epoch, rounded down, in integer arithmetic (as the ledger's ``floor(epoch)``).

    >>> unix_seconds(datetime(1970, 1, 1, 0, 0, 1, 999_999, tzinfo=UTC))
    1
    >>> unix_seconds(datetime(1969, 12, 31, 23, 59, 59, 500_000, tzinfo=UTC))  # down, not towards zero
    -1
    """
    return (t - _EPOCH) // _SECOND


def at(unix_seconds: int) -> datetime:
    """The UTC instant that starts unix second ``unix_seconds``: the inverse of :func:`unix_seconds`.

    Exact (``timedelta`` arithmetic, no float timestamp), so a query bound
    ``created_at >= at(floor + 1)`` selects exactly the seconds ``> floor``.

    >>> at(86_400)
    datetime.datetime(1970, 1, 2, 0, 0, tzinfo=datetime.timezone.utc)
    """
    return _EPOCH + timedelta(seconds=unix_seconds)


def per_second(rows: Sequence[Any]) -> list[tuple[int, int, int]]:
    """(second, amount) rows summed per second (amounts as Python ints: exact for any size).

    Returns ``(second, count, total)`` buckets in first-seen order; amounts
    may come as decimal text (SQLite stores them so).

    >>> per_second([(3, 10**30), (2, "1"), (3, 1)])
    [(3, 2, 1000000000000000000000000000001), (2, 1, 1)]
    """
    sums: dict[int, list[int]] = {}
    for ts, amount in rows:
        slot = sums.setdefault(int(ts), [0, 0])
        slot[0] += 1
        slot[1] += int(amount)
    return [(ts, c, t) for ts, (c, t) in sums.items()]


@dataclass(frozen=True, slots=True)
class VelocityWindow:
    """A debtor's obligations per unix second as committed up to ``seq``.

    ``buckets`` are ``(second, count, total)`` in ascending seconds and hold EVERY counted obligation
    (status not in :data:`UNCOUNTED`) of the debtor with ``debtor_seq <= seq`` whose second is
    ``> floor``; ``count``/``total`` are their sums. Immutable once built: threads of a process share the cached ones.
    """

    seq: int
    floor: int
    buckets: tuple[tuple[int, int, int], ...]
    count: int
    total: int

    @classmethod
    def empty(cls, floor: int) -> VelocityWindow:
        """No obligations yet (``seq`` 0), none kept at or before ``floor``: where a debtor read in full starts.

        >>> VelocityWindow.empty(-10)
        VelocityWindow(seq=0, floor=-10, buckets=(), count=0, total=0)
        """
        return VelocityWindow(0, floor, (), 0, 0)

    def since(self, start: int) -> tuple[int, int]:
        """(count, total) of the seconds ``> start`` (``start >= floor``)."""
        cut = bisect_right(self.buckets, start, key=_second)
        count, total = self.count, self.total
        for _, c, t in self.buckets[:cut]:
            count -= c
            total -= t
        return count, total

    def advanced(self, seq: int, floor: int, extra: list[tuple[int, int, int]]) -> VelocityWindow:
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


def _second(bucket: tuple[int, int, int]) -> int:
    return bucket[0]
