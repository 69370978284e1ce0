"""Group commit for single submissions: many requests, one durable transaction.

Each ``POST /obligations`` enqueues its obligation and waits. A committer
thread takes everything queued at that moment (no artificial delay: while one
group commits, the next one gathers), runs it through
:func:`clearing.services.submission.service.submit_group` in one transaction, and
answers every request only after that commit returned. Outcomes are exactly
those of submitting the requests one by one in arrival order; what is shared
is the commit (one fsync, one set of member locks, a handful of statements),
which is what bounds a ledger's single-request rate (TigerBeetle and
PostgreSQL's own commit_delay batch commits for the same reason).
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field

from clearing.errors import ClearingError
from clearing.services.context import ServiceContext
from clearing.services.keys import Principal
from clearing.services.submission.service import submit_group
from clearing.services.submission.types import ObligationInput, SubmitResult

log = logging.getLogger(__name__)


@dataclass
class _Pending:
    principal: Principal
    item: ObligationInput
    future: Future[SubmitResult] = field(default_factory=Future)


class GroupCommitter:
    """Per-process committer; ``threads`` groups may be in flight at once (one per DB connection)."""

    def __init__(self, ctx: ServiceContext, *, max_items: int = 1000, threads: int = 2) -> None:
        self.ctx = ctx
        self.max_items = max_items
        #: None is the stop signal, one per thread.
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._run, name=f"group-commit-{i}", daemon=True) for i in range(threads)
        ]
        self._started = False
        self._lock = threading.Lock()

    def submit(self, principal: Principal, item: ObligationInput) -> Future[SubmitResult]:
        if not self._started:
            with self._lock:
                if not self._started:
                    for t in self._threads:
                        t.start()
                    self._started = True
        pending = _Pending(principal, item)
        self._queue.put(pending)
        return pending.future

    def close(self) -> None:
        """Stop the committer threads after the groups already queued."""
        if self._started:
            for _ in self._threads:
                self._queue.put(None)
            for t in self._threads:
                t.join(timeout=10)
            self._started = False

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            group = [first]
            stop = False
            while len(group) < self.max_items:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                group.append(nxt)
            self._commit(group)
            if stop:
                return

    def _commit(self, group: list[_Pending]) -> None:
        try:
            outcomes = submit_group(self.ctx, [(p.principal, p.item) for p in group])
        except ClearingError as exc:
            for p in group:
                p.future.set_exception(exc)
            return
        except Exception as exc:  # noqa: BLE001 - every waiter must hear about it
            log.exception("group commit of %d submissions failed", len(group))
            for p in group:
                p.future.set_exception(exc)
            return
        for p, outcome in zip(group, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                p.future.set_exception(outcome)
            else:
                p.future.set_result(outcome)
