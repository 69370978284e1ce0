"""Who subscribes to what, cached per process so publishing costs nothing when nobody listens.

The snapshot is read from the ledger (in the publisher's own transaction) at most every
``REFRESH_SECONDS`` per engine, and dropped at once in the process that registers, deletes or
disables an endpoint (:func:`invalidate`). Another process sees such a change within
``REFRESH_SECONDS``; a delivery created meanwhile for an endpoint deleted elsewhere is failed by the
worker, never sent.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from clearing.adapters.db.models import Member, WebhookEndpoint
from clearing.domain.vocabulary import WILDCARD_EVENT

#: Seconds a process keeps its snapshot of the subscriptions.
REFRESH_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class Subscription:
    endpoint_id: int
    #: The owning member's name; None: an operator endpoint (every event).
    member: str | None
    #: Subscribed event types; None: all (``*``).
    events: frozenset[str] | None

    def wants(self, event_type: str) -> bool:
        return self.events is None or event_type in self.events


@dataclass(frozen=True, slots=True)
class Snapshot:
    operator: tuple[Subscription, ...] = ()
    by_member: dict[str, tuple[Subscription, ...]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.operator and not self.by_member

    def endpoints(self, event_type: str, members: Sequence[str], *, operator: bool = True) -> list[int]:
        """Endpoints that receive ``event_type`` about ``members``: theirs, and the operator's."""
        out = [s.endpoint_id for s in self.operator if s.wants(event_type)] if operator else []
        if self.by_member:
            for name in dict.fromkeys(members):
                out.extend(s.endpoint_id for s in self.by_member.get(name, ()) if s.wants(event_type))
        return out


_lock = threading.Lock()
_cache: weakref.WeakKeyDictionary[Engine, tuple[float, Snapshot]] = weakref.WeakKeyDictionary()


def _engine(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def load(session: Session) -> Snapshot:
    """Enabled, undeleted endpoints, read in ``session``."""
    rows = session.execute(
        select(WebhookEndpoint.id, Member.name, WebhookEndpoint.events)
        .outerjoin(Member, Member.id == WebhookEndpoint.member_id)
        .where(WebhookEndpoint.enabled.is_(True), WebhookEndpoint.deleted_at.is_(None))
    ).all()
    operator: list[Subscription] = []
    by_member: dict[str, list[Subscription]] = {}
    for endpoint_id, name, events in rows:
        sub = Subscription(int(endpoint_id), name, None if WILDCARD_EVENT in events else frozenset(events))
        if name is None:
            operator.append(sub)
        else:
            by_member.setdefault(name, []).append(sub)
    return Snapshot(tuple(operator), {k: tuple(v) for k, v in by_member.items()})


def current(session: Session) -> Snapshot:
    """This process's snapshot for ``session``'s database, read again if older than ``REFRESH_SECONDS``."""
    engine = _engine(session)
    entry = _cache.get(engine)
    now = time.monotonic()
    if entry is not None and now - entry[0] < REFRESH_SECONDS:
        return entry[1]
    snapshot = load(session)
    with _lock:
        _cache[engine] = (now, snapshot)
    return snapshot


def invalidate(session: Session) -> None:
    """Drop the snapshot of ``session``'s database in this process (after a change to endpoints commits)."""
    with _lock:
        _cache.pop(_engine(session), None)
