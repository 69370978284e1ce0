"""`clearing bench webhooks`: signed webhooks end to end, next to a bare signed-POST loop, then an outage.

Fresh SQLite ledgers (WAL, ``synchronous=FULL``: every commit durable), the real service without a
chain, and a real receiver on loopback (``webhook_receiver.Receiver``) that verifies EVERY request with
``standardwebhooks.Webhook(secret).verify``. The member ``alpha`` subscribes to
``obligation.accepted``; obligations are submitted through the real submission service in batches
of ``batch`` (one transaction each: the obligation rows and their webhook messages commit together)
while a :class:`~clearing.services.webhooks.delivery.DeliveryWorker` delivers them.

* ``outbox``: ``events`` obligations submitted as fast as the ledger takes them; deliveries/s from the
  first submission to the last verified delivery, and each message's latency from its commit to its
  arrival at the receiver (mostly queueing, when submissions outrun deliveries).
* ``baseline``: the same number of bodies, signed with the same library and POSTed to the same
  receiver by ``concurrency`` threads sharing one keep-alive client, no ledger: the transport's
  ceiling. ``ratio`` = outbox deliveries/s ÷ baseline POSTs/s.
* ``paced``: ``paced_events`` more at ``paced_rate`` per second, below capacity: the latency of the path
  itself, with no queue in front of it.
* ``outage``: the receiver answers 503 for ``outage_seconds`` while obligations keep coming (one batch
  every ``outage_interval`` s), then recovers; every message published meanwhile must arrive verified
  with a 2xx answer (``lost`` = 0), and every request of one body carries one ``webhook-id``.

The retry schedule is shortened (base 0.05 s, ×2, cap ``backoff_cap`` s) so recovery is prompt.
"""

from __future__ import annotations

import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest.mock import patch

import httpx
from eth_account import Account
from sqlalchemy import select, update

from clearing.adapters.db import migrate
from clearing.adapters.db.models import Member, WebhookMessage
from clearing.bench.webhook_receiver import Receiver
from clearing.bootstrap import build_service
from clearing.domain.risk import TIERS, RiskConfig
from clearing.domain.vocabulary import Role
from clearing.services import members, submission
from clearing.services.context import ServiceContext
from clearing.services.keys import Principal
from clearing.services.submission import service as submission_service
from clearing.services.webhooks import endpoints, publish_many, subscriptions
from clearing.services.webhooks.delivery import DeliveryWorker
from clearing.services.webhooks.publish import body_of, new_message_id
from clearing.services.webhooks.signing import headers as signed_headers
from clearing.settings import Settings, WebhookSettings

OPERATOR = Principal(role=Role.OPERATOR, key_id=None)
Progress = Callable[[str], None]


def _pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] * 1000, 2)


#: No velocity limit in the way of tens of thousands of obligations from one debtor.
UNLIMITED = RiskConfig(
    velocity_max_count=dict.fromkeys(TIERS, 10**12), velocity_max_amount=dict.fromkeys(TIERS, 10**40)
)


def _house(db_url: str, settings: WebhookSettings) -> tuple[ServiceContext, Principal]:
    ctx = build_service(Settings(database_url=db_url, webhooks=settings), with_chain=False, risk_config=UNLIMITED)
    admitted = {
        name: members.admit(ctx, OPERATOR, name=name, address=Account.create().address, tier="A")
        for name in ("alpha", "beta")
    }
    with ctx.uow() as uow:
        uow.session.execute(update(Member).values(chain_balance=10**30))
        uow.commit()
    m = admitted["alpha"].member
    return ctx, Principal(role=Role.MEMBER, key_id=None, member_id=m.id, member_name=m.name, member_address=m.address)


class _Publisher:
    """Submits obligations in batches and remembers when each committed (by obligation id)."""

    def __init__(self, ctx: ServiceContext, alpha: Principal, batch: int) -> None:
        self.ctx, self.alpha, self.batch = ctx, alpha, batch
        self.n = 0
        self.committed: dict[str, float] = {}  # obligation id -> commit time (epoch seconds)

    def submit(self, count: int) -> None:
        ids = [f"wh-{self.n + i + 1}" for i in range(count)]
        self.n += count
        items = [submission.ObligationInput(id=i, debtor="alpha", creditor="beta", amount=100) for i in ids]
        submission.submit(self.ctx, self.alpha, items, batch=True)
        self.committed.update(dict.fromkeys(ids, time.time()))

    def run(self, events: int) -> None:
        while self.n < events:
            self.submit(min(self.batch, events - self.n))

    def message_ids(self) -> set[str]:
        with self.ctx.uow(read_only=True) as uow:
            return set(uow.session.scalars(select(WebhookMessage.id)))


def _wait_delivered(receiver: Receiver, ids: set[str], timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while True:
        ok = {g.message_id for g in list(receiver.received) if g.status < 300 and g.verified}
        if ids <= ok:
            return time.time()
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(ids - ok)} of {len(ids)} messages undelivered after {timeout} s")
        time.sleep(0.02)


def _throughput(pub: _Publisher, receiver: Receiver, events: int) -> dict[str, Any]:
    t0 = time.time()
    pub.run(events)
    published = time.time()
    ids = pub.message_ids()
    done = _wait_delivered(receiver, ids, timeout=120 + events / 50)
    first: dict[str, float] = {}
    for g in receiver.received:
        if g.status < 300:
            first.setdefault(g.json()["data"]["id"], g.at)
    latencies = [first[o] - at for o, at in pub.committed.items()]
    return {
        "events": len(ids),
        "publish_seconds": round(published - t0, 3),
        "publish_per_s": round(len(ids) / (published - t0), 1),
        "seconds": round(done - t0, 3),
        "deliveries_per_s": round(len(ids) / (done - t0), 1),
        "latency_ms": {"p50": _pct(latencies, 50), "p99": _pct(latencies, 99), "max": _pct(latencies, 100)},
        "all_verified": all(g.verified for g in receiver.received),
    }


def _paced(pub: _Publisher, receiver: Receiver, events: int, rate: float) -> dict[str, Any]:
    """Latency below capacity: ``events`` obligations at ``rate`` per second (batches of 5), so no queue
    builds up and each latency is the path itself (commit, the worker's next look, signing, POST)."""
    before, start_n = pub.message_ids(), pub.n
    t0 = time.monotonic()
    while pub.n - start_n < events:
        pub.submit(min(5, events - (pub.n - start_n)))
        time.sleep(max(0.0, t0 + (pub.n - start_n) / rate - time.monotonic()))
    ids = pub.message_ids() - before
    _wait_delivered(receiver, ids, timeout=60 + events / 50)
    first: dict[str, float] = {}
    for g in list(receiver.received):
        if g.status < 300:
            first.setdefault(g.json()["data"]["id"], g.at)
    latencies = [first[f"wh-{n}"] - pub.committed[f"wh-{n}"] for n in range(start_n + 1, pub.n + 1)]
    return {
        "events": len(ids),
        "rate_per_s": rate,
        "latency_ms": {"p50": _pct(latencies, 50), "p99": _pct(latencies, 99), "max": _pct(latencies, 100)},
    }


def _baseline(receiver: Receiver, secret: str, events: int, concurrency: int) -> dict[str, Any]:
    """The same receiver, hit by signed POSTs from a thread pool: no ledger, no outbox."""
    now = datetime.now(UTC)
    bodies = [(new_message_id(), body_of("obligation.accepted", {"id": f"b-{i}"}, now)) for i in range(events)]
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    with httpx.Client(timeout=10, limits=limits) as client:

        def post(item: tuple[str, str]) -> int:
            mid, body = item
            sig = signed_headers(mid, body, [secret], datetime.now(UTC))
            return client.post(receiver.url, content=body.encode(), headers=sig).status_code

        t0 = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            statuses = list(pool.map(post, bodies))
        seconds = time.perf_counter() - t0
    verified = sum(1 for g in receiver.received if g.verified)
    return {
        "events": events,
        "seconds": round(seconds, 3),
        "posts_per_s": round(events / seconds, 1),
        "all_2xx": all(s == 200 for s in statuses),
        "verified": verified,
    }


def _submission_cost(
    db_url: str, settings: WebhookSettings, obligations: int, batch: int, repeats: int
) -> dict[str, Any]:
    """What publishing adds to the submission path, in-process (no worker, no HTTP): batches submitted
    with ``publish_many`` replaced by a no-op (the path before webhooks: the baseline), with nobody
    subscribed, with subscribers that want none of these events, and with the debtor subscribed (a
    message and a delivery written per obligation).

    The conditions alternate batch by batch (order rotated each time; set up and the subscription
    snapshot warmed outside the timing), so load on a shared machine and the ledger's growth fall on
    all of them alike; each condition's figure is its median batch over ``repeats`` × ``obligations``."""
    ctx, alpha = _house(db_url, settings)
    pub = _Publisher(ctx, alpha, batch)

    def no_publish(*_a: Any, **_k: Any) -> list[str]:
        return []

    def setup(name: str) -> list[int]:
        views = []
        if name == "others_subscribed":  # the operator listens, for another event type
            views.append(endpoints.register(ctx, OPERATOR, url="http://127.0.0.1:9/x", events=["cycle.settled"]))
        if name == "debtor_subscribed":
            views.append(endpoints.register(ctx, alpha, url="http://127.0.0.1:9/x", events=["obligation.accepted"]))
        with ctx.uow(read_only=True) as uow:
            subscriptions.current(uow.session)  # warm: a running house reads it once a second at most
        return [v.id for v, _secret in views]

    conditions = ("baseline_no_publish", "nobody_subscribed", "others_subscribed", "debtor_subscribed")
    samples: dict[str, list[float]] = {c: [] for c in conditions}
    for i in range(repeats * max(1, obligations // batch)):
        for name in conditions[i % 4 :] + conditions[: i % 4]:
            ids = setup(name)
            t0 = time.perf_counter()
            if name == "baseline_no_publish":
                with patch.object(submission_service, "publish_many", no_publish):
                    pub.submit(batch)
            else:
                pub.submit(batch)
            samples[name].append(time.perf_counter() - t0)
            for endpoint_id in ids:
                endpoints.delete(ctx, OPERATOR, endpoint_id)
    best = {name: statistics.median(v) for name, v in samples.items()}
    base = best["baseline_no_publish"]
    # The call itself when nobody subscribes, as a submission makes it once per transaction.
    calls = 20_000
    with ctx.uow(read_only=True) as uow:
        publish_many(uow.session, iter(()))  # the snapshot is read (once a second at most)
        t0 = time.perf_counter()
        for _ in range(calls):
            publish_many(uow.session, iter(()))
        per_call_us = (time.perf_counter() - t0) / calls * 1e6
    ctx.engine.dispose()
    return {
        "obligations_per_condition": len(samples["baseline_no_publish"]) * batch,
        "batch": batch,
        "per_s_median_batch": {k: round(batch / v, 1) for k, v in best.items()},
        "ratio_to_baseline": {k: round(v / base, 3) for k, v in best.items()},
        "publish_call_us_nobody_subscribed": round(per_call_us, 2),
        "submission_us_per_obligation_baseline": round(base / batch * 1e6, 1),
    }


def _outage(pub: _Publisher, receiver: Receiver, outage_seconds: float, interval: float) -> dict[str, Any]:
    before = pub.message_ids()
    seen_before = len(receiver.received)
    receiver.status = 503
    t_down = time.monotonic()
    while time.monotonic() - t_down < outage_seconds:
        pub.submit(pub.batch)
        time.sleep(interval)
    receiver.status = 200
    recovered_at = time.time()
    for _ in range(3):  # and a little more traffic after recovery
        pub.submit(pub.batch)
    ids = pub.message_ids() - before
    done = _wait_delivered(receiver, ids, timeout=outage_seconds + 120)
    during = list(receiver.received)[seen_before:]
    delivered = {g.message_id for g in during if g.status < 300 and g.verified}
    ids_per_body: dict[bytes, set[str]] = {}
    deliveries: dict[str, int] = {}
    for g in during:
        ids_per_body.setdefault(g.body, set()).add(g.message_id)
        if g.status < 300:
            deliveries[g.message_id] = deliveries.get(g.message_id, 0) + 1
    return {
        "outage_seconds": outage_seconds,
        "published": len(ids),
        "delivered_verified": len(ids & delivered),
        "lost": len(ids - delivered),
        "attempts_refused_503": sum(1 for g in during if g.status == 503),
        "duplicates_2xx": sum(c - 1 for c in deliveries.values()),
        "one_webhook_id_per_body": all(len(v) == 1 for v in ids_per_body.values()),
        "all_verified": all(g.verified for g in during),
        "recovery_seconds": round(done - recovered_at, 3),
    }


def run(
    *,
    events: int = 5_000,
    outage_seconds: float = 30.0,
    batch: int = 25,
    concurrency: int = 8,
    backoff_cap: float = 1.0,
    outage_interval: float = 0.1,
    paced_events: int = 1_000,
    paced_rate: float = 100.0,
    cost_obligations: int = 10_000,
    cost_batch: int = 500,
    cost_repeats: int = 4,
    progress: Progress | None = None,
) -> dict[str, Any]:
    say = progress or (lambda _m: None)
    settings = WebhookSettings(
        allow_private=True,
        poll_seconds=0.02,
        backoff_base_seconds=0.05,
        backoff_multiplier=2,
        backoff_cap_seconds=backoff_cap,
        concurrency=concurrency,
        timeout_seconds=5,
    )
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'ledger.db'}"
        migrate(url)
        ctx, alpha = _house(url, settings)
        with Receiver() as receiver:
            _view, secret = endpoints.register(ctx, alpha, url=receiver.url, events=["obligation.accepted"])
            receiver.secrets.append(secret)
            say(f"baseline: {events} signed POSTs from {concurrency} threads, no ledger")
            baseline = _baseline(receiver, secret, events, concurrency)
            receiver.received.clear()
            worker = DeliveryWorker(ctx.sessions, settings)
            worker.start()
            try:
                pub = _Publisher(ctx, alpha, batch)
                say(f"outbox: {events} obligations in batches of {batch}, delivered as they commit")
                through = _throughput(pub, receiver, events)
                say(f"paced: {paced_events} obligations at {paced_rate:g}/s (latency with no queue)")
                paced = _paced(pub, receiver, paced_events, paced_rate)
                say(f"outage: the receiver answers 503 for {outage_seconds:g} s while obligations keep coming")
                outage = _outage(pub, receiver, outage_seconds, outage_interval)
            finally:
                worker.stop()
        ctx.engine.dispose()
        say(f"submission cost: {cost_obligations} obligations in batches of {cost_batch}, x{cost_repeats} each way")
        cost_url = f"sqlite:///{Path(tmp) / 'cost.db'}"
        migrate(cost_url)
        cost = _submission_cost(cost_url, settings, cost_obligations, cost_batch, cost_repeats)
    return {
        "bench": "webhooks",
        "database": "sqlite",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "settings": {"batch": batch, "concurrency": concurrency, "poll_seconds": 0.02, "backoff_cap_s": backoff_cap},
        "baseline_bare_signed_posts": baseline,
        "outbox": through,
        "ratio_outbox_to_baseline": round(through["deliveries_per_s"] / baseline["posts_per_s"], 3),
        "paced": paced,
        "latency": "from the commit of the obligation's transaction to the request's arrival at the receiver",
        "outage": outage,
        "submission_cost": cost,
        "ok": outage["lost"] == 0 and outage["one_webhook_id_per_body"] and through["all_verified"],
    }
