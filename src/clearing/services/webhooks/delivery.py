"""Delivering webhooks: at least once, signed, retried with exponential backoff and full jitter.

Any number of processes may run a :class:`DeliveryWorker`. Each claims due deliveries by setting
their lease (``claimed_until``) in one short transaction: ``SELECT ... FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so two workers never claim the same row; SQLite serialises writers anyway. A lease
whose worker died lapses, and the row is claimed again (at least once: the receiver may see a
message twice, always under the same ``webhook-id``).

One coordinating thread does all ledger I/O (claims; results recorded in bulk); ``concurrency``
sender threads only POST, so one slow endpoint occupies one sender, not the worker. A 2xx answer
delivers; anything else (another status, a redirect, a timeout, a refused address) is retried at
``backoff(n)`` until the message is older than ``max_age_seconds``: then the delivery fails, its
endpoint is disabled (with the reason), its other pending deliveries fail, a
``webhook.endpoint_disabled`` event goes to the operator (and the owner's other endpoints), and a
warning is logged.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import insert, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from clearing.adapters.db.models import Member, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookMessage
from clearing.adapters.db.uow import UnitOfWork
from clearing.domain.vocabulary import EventType
from clearing.errors import EndpointRefused
from clearing.services.webhooks import subscriptions
from clearing.services.webhooks.addresses import check_url
from clearing.services.webhooks.endpoints import fail_pending
from clearing.services.webhooks.publish import DELIVERED, FAILED, PENDING, publish
from clearing.services.webhooks.signing import headers
from clearing.settings import WebhookSettings

log = logging.getLogger(__name__)

#: A worker holds up to this many claimed deliveries per sender (queued for the next free sender), so
#: each claiming transaction takes a batch rather than one row per free sender.
PREFETCH = 4
#: A claim outlives the longest wait a claimed row can see (its queue, then its own attempt) by this much
#: before another worker may take the row.
LEASE_MARGIN_SECONDS = 30.0


def backoff(attempt: int, settings: WebhookSettings, rand: Callable[[], float] = random.random) -> float:
    """Seconds before retry ``attempt`` (1 = after the first failure): full jitter over
    ``min(cap, base * multiplier^(attempt-1))``.

    >>> s = WebhookSettings(backoff_base_seconds=5, backoff_multiplier=4, backoff_cap_seconds=60)
    >>> [backoff(n, s, rand=lambda: 1.0) for n in (1, 2, 3, 4)]
    [5.0, 20.0, 60.0, 60.0]
    """
    ceiling = min(
        settings.backoff_cap_seconds, settings.backoff_base_seconds * settings.backoff_multiplier ** (attempt - 1)
    )
    return ceiling * rand()


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery this worker holds the lease of, with all it needs to send it."""

    id: int
    message_id: str
    event_type: str
    body: str
    endpoint_id: int
    url: str
    secrets: tuple[str, ...]
    #: Why not to send at all (endpoint deleted or disabled since); None: send.
    gone: str | None
    attempts: int
    age_from: datetime
    owner: str | None


@dataclass(frozen=True, slots=True)
class Outcome:
    claimed: Claimed
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _now() -> datetime:
    return datetime.now(UTC)


def claim(sessions: sessionmaker[Session], settings: WebhookSettings, limit: int) -> list[Claimed]:
    """Lease up to ``limit`` due deliveries, oldest due first, in one short transaction of its own."""
    with UnitOfWork.from_factory(sessions) as uow:
        out = claim_in(uow.session, settings, limit)
        uow.commit()
        return out


def claim_in(s: Session, settings: WebhookSettings, limit: int) -> list[Claimed]:
    """:func:`claim` in the caller's transaction (it commits)."""
    if limit <= 0:
        return []
    now = _now()
    d, m, e = WebhookDelivery, WebhookMessage, WebhookEndpoint
    q = (
        select(d.id)
        .where(d.state == PENDING, d.next_attempt_at <= now, or_(d.claimed_until.is_(None), d.claimed_until < now))
        .order_by(d.next_attempt_at, d.id)
        .limit(limit)
    )
    if s.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    ids = list(s.scalars(q))
    if not ids:
        return []
    lease = now + timedelta(seconds=settings.timeout_seconds * PREFETCH + LEASE_MARGIN_SECONDS)
    s.execute(update(d).where(d.id.in_(ids)).values(claimed_until=lease))
    rows = s.execute(
        select(
            d.id,
            d.message_id,
            m.event_type,
            m.body,
            e.id,
            e.url,
            e.secret,
            e.previous_secret,
            e.previous_secret_until,
            e.enabled,
            e.deleted_at,
            d.attempts,
            d.age_from,
            Member.name,
        )  # fmt: skip
        .join(m, m.id == d.message_id)
        .join(e, e.id == d.endpoint_id)
        .outerjoin(Member, Member.id == e.member_id)
        .where(d.id.in_(ids))
        .order_by(d.next_attempt_at, d.id)
    ).all()
    out = []
    for did, mid, event_type, body, eid, url, secret, previous, until, enabled, deleted, attempts, age, owner in rows:
        secrets = (secret, previous) if previous and until is not None and until > now else (secret,)
        gone = "endpoint deleted" if deleted is not None else None if enabled else "endpoint disabled"
        out.append(Claimed(did, mid, event_type, body, eid, url, secrets, gone, attempts, age, owner))
    return out


def send(client: httpx.Client, c: Claimed, settings: WebhookSettings) -> Outcome:
    """POST one delivery (no ledger I/O); every failure becomes the outcome's ``error``."""
    at = _now()
    started = time.monotonic()
    status, error = None, None
    try:
        check_url(c.url, allow_private=settings.allow_private)
        r = client.post(c.url, content=c.body.encode(), headers=headers(c.message_id, c.body, c.secrets, at))
        status = r.status_code
        if not 200 <= status < 300:
            error = f"HTTP {status}"
    except EndpointRefused as exc:
        error = exc.message
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return Outcome(c, at, status, error and error[:512], int((time.monotonic() - started) * 1000))


def record(sessions: sessionmaker[Session], settings: WebhookSettings, outcomes: Sequence[Outcome]) -> None:
    """Write what the attempts came to, in one transaction of its own (see :func:`record_in`)."""
    if not outcomes:
        return
    with UnitOfWork.from_factory(sessions) as uow:
        disabled = record_in(uow.session, settings, outcomes)
        uow.commit()
    if disabled:
        subscriptions.invalidate(uow.session)


def record_in(s: Session, settings: WebhookSettings, outcomes: Sequence[Outcome]) -> bool:
    """Attempt rows, delivery states, and the endpoints disabled because a message grew too old, in the
    caller's transaction; returns whether an endpoint was disabled (drop the subscription snapshot)."""
    if not outcomes:
        return False
    now = _now()
    max_age = timedelta(seconds=settings.max_age_seconds)
    attempts = [
        {"delivery_id": o.claimed.id, "at": o.at, "status_code": o.status_code, "error": o.error,
         "duration_ms": o.duration_ms}
        for o in outcomes
        if o.claimed.gone is None
    ]  # fmt: skip
    if attempts:
        s.execute(insert(WebhookAttempt), attempts)
    updates: list[dict[str, object]] = []
    expired: dict[int, Outcome] = {}
    for o in outcomes:
        c = o.claimed
        change: dict[str, object] = {"id": c.id, "claimed_until": None}
        if c.gone is not None:
            change |= {"state": FAILED, "last_error": c.gone}
        else:
            change |= {"attempts": c.attempts + 1, "last_status": o.status_code, "last_error": o.error}
            if o.ok:
                change |= {"state": DELIVERED, "delivered_at": o.at}
            elif now - c.age_from >= max_age:
                change |= {"state": FAILED}
                expired.setdefault(c.endpoint_id, o)
            else:
                change["next_attempt_at"] = now + timedelta(seconds=backoff(c.attempts + 1, settings))
        updates.append(change)
    s.execute(update(WebhookDelivery), updates)
    disabled = [_disable(s, o, settings) for o in expired.values()]  # every one, not up to the first True
    return any(disabled)


def _disable(s: Session, o: Outcome, settings: WebhookSettings) -> bool:
    c = o.claimed
    reason = (
        f"message {c.message_id} still undelivered after {settings.max_age_seconds:g} s "
        f"({c.attempts + 1} attempts; last: {o.error})"
    )[:512]
    done = s.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == c.endpoint_id, WebhookEndpoint.enabled.is_(True))
        .values(enabled=False, disabled_reason=reason, disabled_at=_now())
    )
    if not getattr(done, "rowcount", 0):
        return False  # another worker disabled it first
    fail_pending(s, c.endpoint_id, "endpoint disabled")
    log.warning("webhook endpoint %s (%s) disabled: %s", c.endpoint_id, c.url, reason)
    subscriptions.invalidate(s)  # so the event below is not offered to the endpoint it is about
    publish(
        s,
        EventType.WEBHOOK_ENDPOINT_DISABLED,
        {"endpoint_id": c.endpoint_id, "owner": c.owner or "operator", "url": c.url, "reason": reason},
        members=[c.owner] if c.owner else [],
    )
    return True


def deliver_due(
    sessions: sessionmaker[Session], settings: WebhookSettings, client: httpx.Client, *, limit: int = 1000
) -> int:
    """One synchronous pass: claim what is due, send it (``concurrency`` at a time), record. Returns how
    many were attempted. For tests and tools; the server runs :class:`DeliveryWorker`."""
    claimed = claim(sessions, settings, limit)
    if not claimed:
        return 0
    with ThreadPoolExecutor(settings.concurrency) as pool:
        outcomes = list(pool.map(lambda c: _attempt(client, c, settings), claimed))
    record(sessions, settings, outcomes)
    return len(outcomes)


def _attempt(client: httpx.Client, c: Claimed, settings: WebhookSettings) -> Outcome:
    return Outcome(c, _now(), None, c.gone, 0) if c.gone is not None else send(client, c, settings)


class DeliveryWorker:
    """The delivery loop of one process: a coordinating thread and a pool of senders."""

    def __init__(self, sessions: sessionmaker[Session], settings: WebhookSettings) -> None:
        self.sessions = sessions
        self.settings = settings
        self._client = httpx.Client(
            timeout=settings.timeout_seconds,
            follow_redirects=False,
            limits=httpx.Limits(
                max_connections=settings.concurrency * 2, max_keepalive_connections=settings.concurrency
            ),
        )
        self._pool = ThreadPoolExecutor(settings.concurrency, thread_name_prefix="webhook-send")
        self._results: queue.Queue[Outcome] = queue.Queue()
        self._in_flight = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="webhook-delivery", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.settings.timeout_seconds + 5)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._client.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # the ledger may be briefly unreachable: keep the loop alive
                log.exception("webhook delivery pass failed")
                self._stop.wait(self.settings.poll_seconds)

    def tick(self) -> None:
        """One transaction: record finished attempts and claim due deliveries up to ``PREFETCH`` per
        sender; then, with nothing started, wait for a result or the poll interval."""
        done = self._drain()
        free = self.settings.concurrency * PREFETCH - (self._in_flight - len(done))
        try:
            with UnitOfWork.from_factory(self.sessions) as uow:
                disabled = record_in(uow.session, self.settings, done)
                claimed = claim_in(uow.session, self.settings, free)
                uow.commit()
        except Exception:
            for o in done:  # not recorded: keep them for the next pass (their rows stay leased meanwhile)
                self._results.put(o)
            raise
        if disabled:
            subscriptions.invalidate(uow.session)
        self._in_flight += len(claimed) - len(done)
        for c in claimed:
            self._pool.submit(self._send_one, c)
        if not claimed and not done:
            try:
                first = self._results.get(timeout=self.settings.poll_seconds)
            except queue.Empty:
                return
            self._results.put(first)

    def _drain(self) -> list[Outcome]:
        out: list[Outcome] = []
        while True:
            try:
                out.append(self._results.get_nowait())
            except queue.Empty:
                return out

    def _send_one(self, c: Claimed) -> None:
        try:
            outcome = _attempt(self._client, c, self.settings)
        except Exception as exc:  # never lose a claimed row's result: it is retried like any failure
            outcome = Outcome(c, _now(), None, f"{type(exc).__name__}: {exc}"[:512], 0)
        self._results.put(outcome)
