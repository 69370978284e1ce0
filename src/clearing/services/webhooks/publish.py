"""Publishing an event: a durable message in the caller's transaction, one delivery per subscribed endpoint.

This is the outbox of webhooks: the event exists if and only if the change it reports commits, and a
worker (:mod:`.delivery`) sends it afterwards, at least once, to every endpoint that subscribed.
"""

from __future__ import annotations

import itertools
import json
import os
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from clearing.adapters.db.models import WebhookDelivery, WebhookMessage
from clearing.domain.vocabulary import EVENT_TYPES
from clearing.errors import UnknownEventType
from clearing.services.webhooks import subscriptions

#: One event to publish: (event type, data, names of the members it is about).
Event = tuple[str, Mapping[str, Any], Sequence[str]]
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
_KNOWN = frozenset(EVENT_TYPES)
_MESSAGES = cast(Table, WebhookMessage.__table__)
_DELIVERIES = cast(Table, WebhookDelivery.__table__)


def new_message_id() -> str:
    """``msg_`` + 32 hex digits: the ``webhook-id`` every attempt and redelivery of a message carries."""
    return "msg_" + uuid.uuid4().hex


def _message_ids() -> Iterator[str]:
    """Message ids for one call: 96 random bits shared, then a counter (one ``urandom`` per call, not per event)."""
    prefix = "msg_" + os.urandom(12).hex()
    return (f"{prefix}{n:08x}" for n in itertools.count())


def stamp_of(at: datetime) -> str:
    """ISO-8601 in UTC with a ``Z``."""
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def body_of(event_type: str, data: Mapping[str, Any], at: datetime, *, stamp: str | None = None) -> str:
    """The JSON body sent: ``{"type", "timestamp", "data"}``, the timestamp ISO-8601 in UTC.

    >>> body_of("obligation.held", {"id": "o-1"}, datetime(2026, 12, 1, tzinfo=UTC))
    '{"type":"obligation.held","timestamp":"2026-12-01T00:00:00Z","data":{"id":"o-1"}}'
    """
    # The type and the stamp need no escaping (dotted names, ISO digits); only ``data`` is serialised.
    data_json = json.dumps(data, separators=(",", ":"), default=str)
    return f'{{"type":"{event_type}","timestamp":"{stamp or stamp_of(at)}","data":{data_json}}}'


def publish(
    session: Session,
    event_type: str,
    data: Mapping[str, Any],
    *,
    members: Sequence[str],
    operator: bool = True,
    now: datetime | None = None,
) -> str | None:
    """Record one event in ``session``'s transaction (the caller commits); returns its message id, or
    None when no endpoint wants it (then nothing is written).

    Contract, for every caller:

    * ``event_type``: an :class:`~clearing.domain.vocabulary.EventType` value (``obligation.held``, ...);
      anything else raises :class:`~clearing.errors.ValidationError`.
    * ``data``: what the event says, JSON-serialisable; amounts as decimal strings
      (``clearing.domain.amounts.as_json``), never floats. It is sent as ``body["data"]``.
    * ``members``: names of the members the event is about; each receives it at the endpoints it
      subscribed for ``event_type`` (or ``*``). ``[]``: nobody but the operator.
    * ``operator``: whether operator endpoints receive it too (they receive every event by default).
    * Call it inside the transaction that makes the change, before its commit: the message and its
      deliveries commit (or roll back) with the change. It costs one snapshot look-up (no query, cached
      per process for about a second) when nobody subscribes.
    """
    ids = publish_many(session, [(event_type, data, members)], operator=operator, now=now)
    return ids[0] if ids else None


def publish_many(
    session: Session, events: Iterable[Event], *, operator: bool = True, now: datetime | None = None
) -> list[str]:
    """:func:`publish` for many events at once (two bulk INSERTs); ``events`` is not iterated at all when
    nobody subscribes, so a generator of events is free on a house without webhooks. Returns the ids
    of the messages written."""
    snapshot = subscriptions.current(session)
    if snapshot.empty:
        return []
    at = now or datetime.now(UTC)
    stamp = stamp_of(at)
    ids = _message_ids()
    messages: list[dict[str, Any]] = []
    deliveries: list[dict[str, Any]] = []
    for event_type, data, members in events:
        if event_type not in _KNOWN:
            raise UnknownEventType(f"unknown event type {event_type!r}", field="event_type")
        endpoints = snapshot.endpoints(event_type, members, operator=operator)
        if not endpoints:
            continue
        mid = next(ids)
        body = body_of(event_type, data, at, stamp=stamp)
        messages.append({"id": mid, "event_type": event_type, "body": body, "created_at": at})
        deliveries.extend(
            {
                "message_id": mid,
                "endpoint_id": endpoint,
                "state": PENDING,
                "attempts": 0,
                "next_attempt_at": at,
                "age_from": at,
                "created_at": at,
            }
            for endpoint in endpoints
        )
    if messages:
        # Core inserts of the tables (executemany): no ORM bookkeeping for rows nobody reads back here.
        session.execute(insert(_MESSAGES), messages)
        session.execute(insert(_DELIVERIES), deliveries)
    return [m["id"] for m in messages]
