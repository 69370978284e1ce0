"""Signed webhooks (Standard Webhooks): endpoints, the durable outbox of events, delivery.

* :mod:`.publish`: ``publish(session, event_type, data, members=...)`` in the caller's transaction.
* :mod:`.subscriptions`: the per-process snapshot of who listens (publishing is free when nobody does).
* :mod:`.endpoints`: register, list, delete, rotate a secret, the delivery log, redelivery.
* :mod:`.delivery`: the worker that POSTs due deliveries, signed, with retries and backoff.
* :mod:`.events`: the data of each event type the house itself publishes.
* :mod:`.addresses`: which URLs the house may POST to (no private networks).
"""

from __future__ import annotations

from clearing.services.webhooks.publish import Event, publish, publish_many

__all__ = ["Event", "publish", "publish_many"]
