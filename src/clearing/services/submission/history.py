"""Each debtor's history as the risk rules see it: its velocity window and known counterparties.

Per-process cache of each debtor's window by second, valid up to a
``debtor_seq``. The window counts obligations neither held nor rejected
(``clearing.domain.velocity.UNCOUNTED``). A debtor's obligations are
inserted only under its member row lock, which the caller holds, with
``debtor_seq`` 1, 2, 3, ...; a held one that is released later takes the
debtor's next ``debtor_seq`` then, under the same lock
(``adapters/db/reservations.transition``), and a counted one never stops
counting. So the counted rows a cached window lacks are exactly those with a
larger ``debtor_seq``, in this process or any other, and the cache (filled
only after commits) never holds a row the ledger does not count. A debtor
not cached (or cached past a clock jump) is read in full.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection

from clearing.adapters.db import obligation_store as store
from clearing.adapters.db.obligation_store import LockedMember
from clearing.domain.velocity import WINDOW_SLACK, VelocityWindow
from clearing.services.context import ProcessCaches


@dataclass(slots=True)
class DebtorHistory:
    """One debtor's state during a call: its velocity window at ``now`` and its known counterparties."""

    known: set[str]
    known_ids: set[tuple[int, int]]
    #: Obligations in the window at ``now``: the ledger's, then also this call's as they are added.
    count: int = 0
    total: int = 0
    #: This call's counted obligations (all at ``now``), for the process cache after commit.
    added_count: int = 0
    added_total: int = 0
    #: The ledger's window as read by this call (under the member lock); None: not tracked.
    window: VelocityWindow | None = None
    #: Seconds up to this one may leave the cached window (the window's start less the slack).
    keep: int = 0
    known_frozen: frozenset[str] | None = None


def load_histories(
    conn: Connection,
    caches: ProcessCaches,
    by_id: dict[int, LockedMember],
    debtor_ids: set[int],
    pairs: set[tuple[int, int]],
    now_ts: int,
    window_seconds: int | None,
) -> dict[int, DebtorHistory]:
    """Each debtor's velocity window at ``now_ts`` (count and total, exact) and known counterparties.

    ``window_seconds`` None switches the velocity history off (a diagnostic: the rules see none).
    """
    out = {d: DebtorHistory(set(), set()) for d in debtor_ids}
    ids = sorted(debtor_ids)
    if window_seconds is not None:
        _load_windows(conn, caches, by_id, ids, out, now_ts - window_seconds)
    # Known pairs never become unknown, so a per-process cache of pairs already read is exact for
    # the pairs it holds; the DB is asked only when some pair of this call is not cached yet. The
    # rules test only each obligation's own creditor, so the cached subset decides as the full set.
    cache = caches.known_pairs
    if all(c in cache.get(d, ()) for d, c in pairs):
        for d, c in pairs:
            out[d].known.add(by_id[c].name)
            out[d].known_ids.add((d, c))
        return out
    for debtor_id, creditor_id, name in store.known_counterparties(conn, ids):
        out[debtor_id].known.add(name)
        out[debtor_id].known_ids.add((debtor_id, creditor_id))
        cache.setdefault(debtor_id, set()).add(creditor_id)
    return out


def _load_windows(
    conn: Connection,
    caches: ProcessCaches,
    by_id: dict[int, LockedMember],
    ids: list[int],
    out: dict[int, DebtorHistory],
    start: int,
) -> None:
    """The window is the seconds ``> start``; cached windows are topped up, others read in full."""
    keep = start - WINDOW_SLACK
    cold: list[int] = []
    stale: dict[int, VelocityWindow] = {}
    windows: dict[int, VelocityWindow] = {}
    for d in ids:
        member_seq = by_id[d].obligation_seq
        cached = caches.windows.get(d)
        if cached is None or cached.seq > member_seq or cached.floor > start:
            cold.append(d)
        elif cached.seq < member_seq:
            stale[d] = cached
        else:
            windows[d] = cached
    extra = store.window_buckets(conn, cold, keep, [(d, w.seq, max(w.floor, keep)) for d, w in stale.items()])
    empty = VelocityWindow.empty(keep)
    for d in cold:
        windows[d] = empty.advanced(by_id[d].obligation_seq, keep, extra[d])
    for d, w in stale.items():
        windows[d] = w.advanced(by_id[d].obligation_seq, keep, extra[d])
    for d, w in windows.items():
        out[d].window, out[d].keep = w, keep
        out[d].count, out[d].total = w.since(start)


def cache_window(
    caches: ProcessCaches, debtor_id: int, rec: DebtorHistory, new_seq: int, now_ts: int
) -> Callable[[], None]:
    """What to cache once this call's transaction has committed (never before: only durable rows)."""
    window = rec.window
    assert window is not None
    added = [(now_ts, rec.added_count, rec.added_total)] if rec.added_count else []

    def apply() -> None:
        current = caches.windows.get(debtor_id)
        # Another thread of this process may have cached a later state meanwhile: keep it.
        if current is None or current.seq < new_seq:
            caches.windows[debtor_id] = window.advanced(new_seq, rec.keep, added)

    return apply
