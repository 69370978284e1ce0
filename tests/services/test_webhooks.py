"""The webhook outbox and its delivery worker on a real ledger, to real HTTP receivers on loopback."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select, update

from clearing.adapters.db.models import Member, WebhookAttempt, WebhookDelivery, WebhookMessage
from clearing.adapters.db.obligation_store import COPY_THRESHOLD
from clearing.bench.webhook_receiver import Receiver
from clearing.errors import ValidationError
from clearing.services import submission
from clearing.services.keys import Principal
from clearing.services.webhooks import endpoints, publish, publish_many, subscriptions
from clearing.services.webhooks.delivery import DeliveryWorker, backoff, claim, deliver_due
from clearing.settings import Settings, WebhookSettings
from tests.conftest import OPERATOR, admit_member, ledger_house

FAST = WebhookSettings(allow_private=True, poll_seconds=0.02, backoff_base_seconds=0.001, backoff_cap_seconds=0.001)


def _house(db):
    ctx = ledger_house(db, Settings(database_url=db.url, webhooks=FAST))
    for name in ("alpha", "beta"):
        admit_member(ctx, name, collateral=10**24)
    return ctx


def _publish(ctx, n: int, members=("alpha",), event_type="obligation.accepted") -> list[str]:
    with ctx.uow() as uow:
        ids = publish_many(uow.session, ((event_type, {"n": i}, list(members)) for i in range(n)))
        uow.commit()
    return ids


def test_who_receives_what(db):
    ctx = _house(db)
    with Receiver() as r:
        op, _ = endpoints.register(ctx, OPERATOR, url=r.url, events=["*"])
        alpha = _member(ctx, "alpha")
        mine, _ = endpoints.register(ctx, alpha, url=r.url, events=["cycle.settled"])
        with ctx.uow() as uow:
            s = uow.session
            assert publish(s, "cycle.settled", {"x": 1}, members=["alpha"])  # alpha's and the operator's
            assert publish(s, "cycle.settled", {"x": 2}, members=["beta"])  # the operator's only
            assert publish(s, "cycle.settled", {"x": 3}, members=["beta"], operator=False) is None
            assert publish(s, "obligation.held", {"x": 4}, members=["alpha"])  # operator only
            with pytest.raises(ValidationError):
                publish(s, "obligation.eaten", {}, members=["alpha"])
            uow.commit()
        with ctx.uow(read_only=True) as uow:
            rows = uow.session.execute(
                select(WebhookDelivery.endpoint_id, func.count()).group_by(WebhookDelivery.endpoint_id)
            ).all()
        assert dict(rows) == {op.id: 3, mine.id: 1}


def _member(ctx, name):
    with ctx.uow(read_only=True) as uow:
        mid = uow.session.scalar(select(Member.id).where(Member.name == name))
    return Principal(role="member", key_id=None, member_id=mid, member_name=name)


def test_the_worker_delivers_concurrently_and_a_slow_endpoint_blocks_no_other(db):
    ctx = _house(db)
    gate = threading.Event()
    with Receiver() as fast, Receiver() as slow:
        fast_e, fast_secret = endpoints.register(ctx, _member(ctx, "alpha"), url=fast.url, events=["*"])
        fast.secrets.append(fast_secret)
        slow_e, _ = endpoints.register(ctx, _member(ctx, "beta"), url=slow.url, events=["*"])
        # The slow receiver holds each request until the gate opens.
        slow.status = 200
        original = slow.verify

        def hold(body, headers):
            gate.wait(5)
            return original(body, headers)

        slow.verify = hold  # type: ignore[method-assign]
        _publish(ctx, 3, members=("beta",))
        ids = _publish(ctx, 40, members=("alpha",))
        worker = DeliveryWorker(ctx.sessions, ctx.settings.webhooks)
        worker.start()
        try:
            got = fast.wait_for(40, timeout=20)  # while the slow endpoint still holds its requests
            assert not gate.is_set()
            assert {g.message_id for g in got} == set(ids) and all(g.verified for g in got)
            gate.set()
            slow.wait_for(3, timeout=20)
            deadline = time.monotonic() + 10
            while _states(ctx) != {"delivered": 43}:
                assert time.monotonic() < deadline, _states(ctx)
                time.sleep(0.05)
        finally:
            gate.set()
            worker.stop()
        assert fast_e.id != slow_e.id


def _states(ctx) -> dict[str, int]:
    with ctx.uow(read_only=True) as uow:
        return dict(
            uow.session.execute(select(WebhookDelivery.state, func.count()).group_by(WebhookDelivery.state)).all()
        )


def test_a_claim_whose_worker_died_is_retried_under_the_same_id(db):
    ctx = _house(db)
    with Receiver() as r:
        endpoints.register(ctx, OPERATOR, url=r.url, events=["*"])
        [mid] = _publish(ctx, 1)
        [dead] = claim(ctx.sessions, ctx.settings.webhooks, 10)  # a worker claims it, then dies
        assert dead.message_id == mid
        with httpx.Client() as client:
            assert deliver_due(ctx.sessions, ctx.settings.webhooks, client) == 0  # still leased
            with ctx.uow() as uow:  # the lease lapses
                uow.session.execute(
                    update(WebhookDelivery).values(claimed_until=datetime.now(UTC) - timedelta(seconds=1))
                )
                uow.commit()
            assert deliver_due(ctx.sessions, ctx.settings.webhooks, client) == 1
        assert [g.message_id for g in r.wait_for(1)] == [mid]
        assert _states(ctx) == {"delivered": 1}


def test_backoff_is_full_jitter_under_an_exponential_ceiling():
    s = WebhookSettings()
    ceilings = [backoff(n, s, rand=lambda: 1.0) for n in range(1, 10)]
    assert ceilings[:4] == [5.0, 20.0, 80.0, 320.0] and ceilings[-1] == s.backoff_cap_seconds
    assert all(0 <= backoff(3, s) <= 80 for _ in range(100))
    assert backoff(1, s, rand=lambda: 0.0) == 0.0


def test_the_subscription_snapshot_is_dropped_on_register_and_delete(db):
    ctx = _house(db)
    with ctx.uow(read_only=True) as uow:
        assert subscriptions.current(uow.session).empty
    e, _ = endpoints.register(ctx, OPERATOR, url="http://127.0.0.1:9/x", events=["*"])
    with ctx.uow(read_only=True) as uow:  # no second's wait: this process dropped its snapshot
        assert not subscriptions.current(uow.session).empty
    endpoints.delete(ctx, OPERATOR, e.id)
    with ctx.uow(read_only=True) as uow:
        assert subscriptions.current(uow.session).empty


@pytest.mark.postgres
def test_two_workers_claiming_at_once_send_each_delivery_once(pg_db):
    ctx = _house(pg_db)
    with Receiver() as r:
        _, secret = endpoints.register(ctx, OPERATOR, url=r.url, events=["*"])
        r.secrets.append(secret)
        ids = _publish(ctx, 300)
        start = threading.Barrier(2)
        sent = [0, 0]

        def work(i: int) -> None:
            start.wait()
            with httpx.Client() as client:
                while n := deliver_due(ctx.sessions, ctx.settings.webhooks, client, limit=20):
                    sent[i] += n

        threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        got = r.wait_for(300)
        assert sorted(g.message_id for g in got) == sorted(ids)  # each exactly once
        assert sum(sent) == 300 and min(sent) > 0  # both workers took a share
        assert all(g.verified for g in got)
        with ctx.uow(read_only=True) as uow:
            assert uow.session.scalar(select(func.count()).select_from(WebhookAttempt)) == 300
            assert uow.session.scalar(select(func.count()).select_from(WebhookMessage)) == 300


def test_a_large_batch_publishes_every_event_in_its_transaction(db):
    """A batch big enough for COPY on PostgreSQL: one message per obligation, written with the batch."""
    ctx = _house(db)
    alpha = _member(ctx, "alpha")
    endpoints.register(ctx, alpha, url="http://127.0.0.1:9/x", events=["obligation.accepted"])
    n = COPY_THRESHOLD + 10
    items = [submission.ObligationInput(id=f"big-{i}", debtor="alpha", creditor="beta", amount=5) for i in range(n)]
    submission.submit(ctx, alpha, items, batch=True)
    with ctx.uow(read_only=True) as uow:
        assert uow.session.scalar(select(func.count()).select_from(WebhookMessage)) == n
        assert uow.session.scalar(select(func.count()).select_from(WebhookDelivery)) == n
