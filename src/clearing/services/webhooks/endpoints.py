"""Endpoints: a member (or the operator) registers a URL and the event types it wants; the house
shows the secret once, lists, deletes, rotates the secret with an overlap, shows the delivery log and
redelivers a message (same ``webhook-id``).

A member sees and changes only its own endpoints (another's is "not found"); the operator's key
sees every endpoint, and its own endpoints receive every event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from clearing.adapters.db.models import Member, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookMessage
from clearing.domain.vocabulary import EVENT_TYPES, WILDCARD_EVENT, Role
from clearing.errors import Conflict, EndpointRefused, Forbidden, NotFound, UnknownEventType, ValidationError
from clearing.services.audit_log import record_action
from clearing.services.context import ServiceContext
from clearing.services.keys import Principal
from clearing.services.webhooks import subscriptions
from clearing.services.webhooks.addresses import check_url
from clearing.services.webhooks.publish import FAILED, PENDING
from clearing.services.webhooks.signing import new_secret

OPERATOR_OWNER = "operator"
MAX_URL = 2048


@dataclass(frozen=True, slots=True)
class EndpointView:
    id: int
    url: str
    events: list[str]
    owner: str
    enabled: bool
    disabled_reason: str | None
    created_at: datetime
    #: End of a rotation's overlap, while the previous secret still signs.
    previous_secret_until: datetime | None


@dataclass(frozen=True, slots=True)
class AttemptView:
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


@dataclass(frozen=True, slots=True)
class DeliveryView:
    id: int
    message_id: str
    event_type: str
    state: str
    attempts: int
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None
    attempt_log: list[AttemptView]


def _owner_id(p: Principal) -> int | None:
    if p.role == Role.MEMBER:
        return p.member_id
    if p.role == Role.OPERATOR:
        return None
    raise Forbidden("webhooks are for member and operator keys", field="authorization")


def _view(e: WebhookEndpoint, owner: str | None) -> EndpointView:
    return EndpointView(
        id=e.id,
        url=e.url,
        events=list(e.events),
        owner=owner or OPERATOR_OWNER,
        enabled=e.enabled,
        disabled_reason=e.disabled_reason,
        created_at=e.created_at,
        previous_secret_until=e.previous_secret_until,
    )


def _owner_name(s: Session, e: WebhookEndpoint) -> str | None:
    return None if e.member_id is None else s.scalar(select(Member.name).where(Member.id == e.member_id))


def check_events(events: list[str]) -> list[str]:
    """The subscription as stored: ``["*"]`` or distinct known event types, in the order given."""
    if not events:
        raise ValidationError("events must name at least one event type, or '*'", field="events")
    unknown = [e for e in events if e != WILDCARD_EVENT and e not in EVENT_TYPES]
    if unknown:
        raise UnknownEventType(
            f"unknown event type(s) {', '.join(map(repr, unknown))}; known: '*', {', '.join(EVENT_TYPES)}",
            field="events",
            unknown=unknown,
        )
    return [WILDCARD_EVENT] if WILDCARD_EVENT in events else list(dict.fromkeys(events))


def register(ctx: ServiceContext, p: Principal, *, url: str, events: list[str]) -> tuple[EndpointView, str]:
    """A new endpoint and its secret (shown only here and on rotation)."""
    owner = _owner_id(p)
    if len(url) > MAX_URL:
        raise EndpointRefused(f"url is longer than {MAX_URL} characters", field="url")
    wanted = check_events(events)
    check_url(url, allow_private=ctx.settings.webhooks.allow_private)
    secret = new_secret()
    with ctx.uow() as uow:
        s = uow.session
        e = WebhookEndpoint(
            member_id=owner, url=url, events=wanted, secret=secret, enabled=True, created_at=ctx.clock()
        )
        s.add(e)
        s.flush()
        record_action(s, p.actor, "webhook.register", {"endpoint": e.id, "url": url, "events": wanted})
        view = _view(e, p.member_name)
        uow.commit()
    subscriptions.invalidate(uow.session)
    return view, secret


def _get(s: Session, p: Principal, endpoint_id: int, *, lock: bool = False) -> WebhookEndpoint:
    owner = _owner_id(p)
    e = s.get(WebhookEndpoint, endpoint_id, with_for_update=lock)
    if e is None or e.deleted_at is not None or (p.role == Role.MEMBER and e.member_id != owner):
        raise NotFound(f"no webhook endpoint {endpoint_id}", field="endpoint_id", endpoint_id=endpoint_id)
    return e


def list_endpoints(ctx: ServiceContext, p: Principal, *, mine: bool = False) -> list[EndpointView]:
    """A member's own endpoints; for the operator every endpoint (``mine``: only the operator's)."""
    owner = _owner_id(p)
    with ctx.uow(read_only=True) as uow:
        q = (
            select(WebhookEndpoint, Member.name)
            .outerjoin(Member, Member.id == WebhookEndpoint.member_id)
            .where(WebhookEndpoint.deleted_at.is_(None))
            .order_by(WebhookEndpoint.id)
        )
        if p.role == Role.MEMBER or mine:
            q = q.where(
                WebhookEndpoint.member_id == owner if owner is not None else WebhookEndpoint.member_id.is_(None)
            )
        return [_view(e, name) for e, name in uow.session.execute(q).all()]


def delete(ctx: ServiceContext, p: Principal, endpoint_id: int) -> EndpointView:
    """Stop sending to an endpoint: pending deliveries fail, the log stays readable to the operator's audit."""
    with ctx.uow() as uow:
        s = uow.session
        e = _get(s, p, endpoint_id, lock=True)
        now = ctx.clock()
        e.deleted_at = now
        e.enabled = False
        fail_pending(s, e.id, "endpoint deleted")
        record_action(s, p.actor, "webhook.delete", {"endpoint": e.id, "url": e.url})
        view = _view(e, _owner_name(s, e))
        uow.commit()
    subscriptions.invalidate(uow.session)
    return view


def fail_pending(s: Session, endpoint_id: int, reason: str) -> None:
    """Every pending delivery of an endpoint fails (deleted or disabled: nothing more is sent to it)."""
    s.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.state == PENDING)
        .values(state=FAILED, last_error=reason[:512], claimed_until=None)
    )


def rotate_secret(ctx: ServiceContext, p: Principal, endpoint_id: int) -> tuple[EndpointView, str]:
    """A new secret; deliveries carry the old one's signature too for ``secret_overlap_seconds``."""
    overlap = ctx.settings.webhooks.secret_overlap_seconds
    with ctx.uow() as uow:
        s = uow.session
        e = _get(s, p, endpoint_id, lock=True)
        now = ctx.clock()
        secret = new_secret()
        e.previous_secret, e.previous_secret_until = (
            (e.secret, now + timedelta(seconds=overlap)) if overlap else (None, None)
        )
        e.secret = secret
        record_action(s, p.actor, "webhook.rotate_secret", {"endpoint": e.id, "overlap_seconds": overlap})
        view = _view(e, _owner_name(s, e))
        uow.commit()
    return view, secret


def deliveries(ctx: ServiceContext, p: Principal, endpoint_id: int, *, limit: int = 100) -> list[DeliveryView]:
    """The endpoint's latest deliveries, newest first, each with its attempts."""
    with ctx.uow(read_only=True) as uow:
        s = uow.session
        _get(s, p, endpoint_id)
        rows = s.execute(
            select(WebhookDelivery, WebhookMessage.event_type)
            .join(WebhookMessage, WebhookMessage.id == WebhookDelivery.message_id)
            .where(WebhookDelivery.endpoint_id == endpoint_id)
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
        ).all()
        log: dict[int, list[AttemptView]] = {}
        if rows:
            for a in s.scalars(
                select(WebhookAttempt)
                .where(WebhookAttempt.delivery_id.in_([d.id for d, _ in rows]))
                .order_by(WebhookAttempt.id)
            ):
                log.setdefault(a.delivery_id, []).append(AttemptView(a.at, a.status_code, a.error, a.duration_ms))
        return [_delivery_view(d, t, log.get(d.id, [])) for d, t in rows]


def _delivery_view(d: WebhookDelivery, event_type: str, attempts: list[AttemptView]) -> DeliveryView:
    return DeliveryView(
        id=d.id,
        message_id=d.message_id,
        event_type=event_type,
        state=d.state,
        attempts=d.attempts,
        next_attempt_at=d.next_attempt_at if d.state == PENDING else None,
        created_at=d.created_at,
        delivered_at=d.delivered_at,
        attempt_log=attempts,
    )


def redeliver(ctx: ServiceContext, p: Principal, endpoint_id: int, delivery_id: int) -> DeliveryView:
    """Send a delivery again now (delivered or failed ones too), under the same ``webhook-id``; its age
    toward ``max_age_seconds`` starts again."""
    with ctx.uow() as uow:
        s = uow.session
        e = _get(s, p, endpoint_id)
        if not e.enabled:
            raise Conflict(f"webhook endpoint {endpoint_id} is disabled ({e.disabled_reason})", field="endpoint_id")
        d = s.get(WebhookDelivery, delivery_id, with_for_update=True)
        if d is None or d.endpoint_id != e.id:
            raise NotFound(f"no delivery {delivery_id} to endpoint {endpoint_id}", field="delivery_id")
        now = ctx.clock()
        if d.state == PENDING and d.claimed_until is not None and d.claimed_until > now:
            raise Conflict(f"delivery {delivery_id} is being sent right now", field="delivery_id")
        d.state, d.next_attempt_at, d.claimed_until, d.age_from = PENDING, now, None, now
        record_action(s, p.actor, "webhook.redeliver", {"endpoint": e.id, "delivery": d.id, "message": d.message_id})
        event_type = s.scalar(select(WebhookMessage.event_type).where(WebhookMessage.id == d.message_id)) or ""
        view = _delivery_view(d, event_type, [])
        uow.commit()
    return view
