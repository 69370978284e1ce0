"""The chain writer: the one process that signs and sends the house's transactions.

Every worker of ``clearing serve`` plans its chain writes as outbox rows
(``services/outbox.py``) and waits for them where an answer needs them;
exactly one process sends: the holder of the writer's lease
(``adapters/db/lease.py``: an advisory lock on PostgreSQL, taken over when
its holder dies; always this process on SQLite or with an in-process chain).
The holder sends its own requests' rows at once, and its loop, run here
every ``writer.poll_seconds``, does the rest. Each pass:

1. takes the lease if it is free; a worker that is not the writer stops here;
2. on taking it, finishes what a previous writer may have left mid-way
   (``CycleService.recover``);
3. sends every pending row, oldest first (``Outbox.send_row``: nonce resynced
   from the chain with backoff when another sender took it, a stalled
   transaction replaced at its nonce with higher fees, mined once under any
   of its hashes); a row that fails is tried again after an exponential
   backoff (at most a minute), so one bad row never stalls the others for long;
4. reports rows pending longer than ``writer.stuck_seconds``: a warning in the
   log for the operator; ``GET /health`` and ``GET /outbox/stuck`` read the
   same numbers (:func:`outbox_health`, :func:`stuck_rows`).

The loop is an APScheduler interval job rather than one more hand-grown
thread: ``max_instances=1`` with ``coalesce`` means a long pass (a receipt
wait) neither overlaps the next nor piles up missed ones, and ``shutdown``
waits for the pass in flight.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import func, select

from clearing.adapters.db.models import Member, SettlementTx
from clearing.services import outbox
from clearing.services.context import ServiceContext

log = logging.getLogger(__name__)

#: Longest wait before a row that keeps failing is tried again.
MAX_BACKOFF_SECONDS = 60.0
#: How often the writer looks for stuck rows, and repeats an unchanged warning.
STUCK_CHECK_SECONDS, STUCK_REPEAT_SECONDS = 5.0, 60.0


@dataclass(frozen=True, slots=True)
class OutboxHealth:
    """Rows the house still has to send or see mined, and how many have waited too long."""

    pending: int
    stuck: int
    #: Age of the oldest pending row, whole seconds (None: nothing pending).
    oldest_seconds: int | None
    stuck_after_seconds: int

    @property
    def ok(self) -> bool:
        return self.stuck == 0


@dataclass(frozen=True, slots=True)
class StuckRow:
    """One outbox row pending longer than the threshold, with what its last attempt left."""

    id: int
    kind: str
    state: str
    member: str | None
    cycle_id: int | None
    created_at: datetime
    age_seconds: int
    nonce: int | None
    tx_hash: str | None
    #: Every transaction signed for the row's nonce (a replaced one and its replacements).
    hashes: tuple[str, ...]
    error: str | None


def outbox_health(ctx: ServiceContext) -> OutboxHealth:
    """The outbox as ``GET /health`` reports it (one query)."""
    threshold = ctx.settings.writer.stuck_seconds
    now = datetime.now(UTC)
    with ctx.uow(read_only=True) as uow:
        t = SettlementTx
        cutoff = now - timedelta(seconds=threshold)
        pending, stuck, oldest = uow.session.execute(
            select(func.count(), func.count().filter(t.created_at < cutoff), func.min(t.created_at)).where(
                t.kind.in_(outbox.HOUSE_KINDS), t.state.in_(outbox.PENDING)
            )
        ).one()
    return OutboxHealth(
        pending=int(pending),
        stuck=int(stuck),
        oldest_seconds=_age(now, oldest) if oldest is not None else None,
        stuck_after_seconds=int(threshold),
    )


def stuck_rows(ctx: ServiceContext, *, limit: int = 100) -> list[StuckRow]:
    """Rows pending longer than ``writer.stuck_seconds``, oldest first."""
    now = datetime.now(UTC)
    cutoff = now - timedelta(seconds=ctx.settings.writer.stuck_seconds)
    t = SettlementTx
    with ctx.uow(read_only=True) as uow:
        rows = uow.session.execute(
            select(t, Member.name)
            .outerjoin(Member, Member.id == t.member_id)
            .where(t.kind.in_(outbox.HOUSE_KINDS), t.state.in_(outbox.PENDING), t.created_at < cutoff)
            .order_by(t.id)
            .limit(limit)
        ).all()
        return [
            StuckRow(
                id=r.id,
                kind=r.kind,
                state=r.state,
                member=name,
                cycle_id=r.cycle_id,
                created_at=r.created_at,
                age_seconds=_age(now, r.created_at),
                nonce=r.nonce,
                tx_hash=r.tx_hash,
                hashes=tuple((r.payload or {}).get("hashes") or ()),
                error=r.error,
            )
            for r, name in rows
        ]


class ChainWriter:
    """The writer's loop in one process (every worker runs one; only the lease holder's sends)."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.outbox = ctx.outbox
        self.interval = ctx.settings.writer.poll_seconds
        #: Row id → (failures so far, monotonic time before which it is not tried again).
        self._retry: dict[int, tuple[int, float]] = {}
        self._next_check = 0.0
        self._warned: tuple[int, float] | None = None
        self._scheduler: BackgroundScheduler | None = None

    def start(self) -> None:
        # Its own logger: "skipped: maximum number of running instances reached" is how a long pass
        # (a receipt wait) meets the next tick, expected here, not a warning for the operator.
        quiet = logging.getLogger(f"{__name__}.scheduler")
        quiet.setLevel(logging.ERROR)
        scheduler = BackgroundScheduler(timezone=UTC, logger=quiet)
        scheduler.add_job(
            self.tick,
            "interval",
            seconds=self.interval,
            id="chain-writer",
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC),
        )
        scheduler.start()
        self._scheduler = scheduler

    def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=True)
            self._scheduler = None

    def tick(self) -> int:
        """One pass (see the module); how many rows it finished. Never raises."""
        if self.ctx.contracts is None:
            return 0
        try:
            if not self.outbox.is_writer():
                return 0
            if self.outbox.needs_recovery():
                self._recover()
            finished = self._send_pending()
            self._report_stuck()
            return finished
        except Exception:  # the next pass tries again
            log.exception("chain writer pass failed")
            return 0

    def _recover(self) -> None:
        log.warning("chain writer: this process took the lease over; finishing what the previous writer left")
        self.outbox.mark_recovered()
        if self.ctx.cycles is not None:
            try:
                self.ctx.cycles.recover()
            except Exception:  # the rows it planned stay pending: the passes send them
                log.exception("chain writer: recovering cycles failed")

    def _send_pending(self) -> int:
        with self.ctx.uow(read_only=True) as uow:
            items = outbox.pending(uow.session)
        finished = 0
        for item in items:
            failures, not_before = self._retry.get(item.id, (0, 0.0))
            if time.monotonic() < not_before:
                continue
            if not self.outbox.is_writer():  # lost the lease mid-pass: the new writer goes on
                break
            try:
                self.outbox.send_row(item)
            except Exception as exc:
                delay = min(MAX_BACKOFF_SECONDS, self.interval * 2.0 ** (failures + 1))
                self._retry[item.id] = (failures + 1, time.monotonic() + delay)
                log.warning(
                    "chain writer: outbox row %s (%s) not done (%s); next try in %.1f s", item.id, item.kind, exc, delay
                )
                continue
            self._retry.pop(item.id, None)
            finished += 1
        return finished

    def _report_stuck(self) -> None:
        now = time.monotonic()
        if now < self._next_check:
            return
        self._next_check = now + STUCK_CHECK_SECONDS
        health = outbox_health(self.ctx)
        if health.ok:
            self._warned = None
            return
        if self._warned is not None and self._warned[0] == health.stuck and now < self._warned[1]:
            return
        self._warned = (health.stuck, now + STUCK_REPEAT_SECONDS)
        log.warning(
            "chain writer: %d outbox row(s) pending longer than %d s (the oldest for %s s): see GET /outbox/stuck",
            health.stuck,
            health.stuck_after_seconds,
            health.oldest_seconds,
        )


def _age(now: datetime, then: datetime) -> int:
    if then.tzinfo is None:
        then = then.replace(tzinfo=UTC)
    return max(0, int((now - then).total_seconds()))
