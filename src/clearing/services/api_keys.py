"""API keys as the house uses and administers them: authenticate a request; list, rotate, revoke (audited).

Hashing, generation and the per-process resolver live in :mod:`clearing.services.keys`.
Here: :func:`authenticate` (the ledger path of a request whose key is not cached, which also
records the key's last use), and the operator's and member's key administration. A revocation
drops the key from this process's cache at once and reaches the others through the change
log (``KeyResolver``). ``member_id`` scopes an administrative call to one member's keys: a key
of another member is "not found", never "forbidden", so ids reveal nothing.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from clearing.adapters.db.models import ApiKey, Member
from clearing.errors import NotFound, Unauthorized
from clearing.services.audit_log import record_action
from clearing.services.context import ServiceContext
from clearing.services.keys import Principal, key_active, revoke_api_key, rotate_api_key, touch_api_key

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class KeyView:
    """A key as listings show it: never the key itself, only its first characters."""

    id: int
    prefix: str
    role: str
    member: str | None
    label: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    active: bool


@dataclass(frozen=True, slots=True)
class Rotated:
    old: KeyView
    new: KeyView
    api_key: str


def authenticate_cached(ctx: ServiceContext, key: str, client: str) -> Principal | None:
    """What a request learns of ``key`` without the ledger: its principal if cached, else None (ask the
    ledger: :func:`authenticate`); raises when the answer is known already.

    Raises :class:`~clearing.errors.TooManyRequests` when the client address or the key's prefix is
    past ``api.auth_failure_limit`` failed attempts, and :class:`~clearing.errors.Unauthorized` for a
    key the ledger refused within ``api.auth_negative_cache_seconds``: a flood of bad keys makes at
    most the limit's worth of ledger queries. Keys already cached are never throttled.
    """
    found = ctx.keys.cached(key)
    if found is not None:
        return found
    ctx.keys.throttle.check(client, key)
    if ctx.keys.known_bad(key):
        ctx.keys.throttle.failed(client, key)
        raise Unauthorized("unknown, revoked or expired API key", field="authorization")
    return None


def authenticate(ctx: ServiceContext, key: str, client: str = "local") -> Principal:
    """The principal for ``key``, from the ledger if need be (the slow path of a request); records its last use.

    ``client`` is the caller's address, for the throttle (see :func:`authenticate_cached`).
    """
    found = authenticate_cached(ctx, key, client)
    if found is not None:
        return found
    with ctx.uow(read_only=True) as uow:
        found = ctx.keys.resolve(uow.session, key)
    if found is None:
        ctx.keys.throttle.failed(client, key)
        raise Unauthorized("unknown, revoked or expired API key", field="authorization")
    if found.key_id is not None and ctx.keys.touch_due(found.key_id):
        try:
            with ctx.uow() as uow:
                touch_api_key(uow.session, found.key_id, ctx.clock())
                uow.commit()
        except SQLAlchemyError:  # a busy ledger must not fail the request: the next touch catches up
            log.warning("could not record the last use of API key %s", found.key_id, exc_info=True)
    return found


def still_active(ctx: ServiceContext, key_id: int | None, digest: str) -> bool:
    """Whether the key whose hash is ``digest`` still authenticates: a console session opened with it lives
    only as long as the key (revoked, expired, rotated out or removed from the settings: signed out)."""
    if key_id is None:
        return ctx.keys.is_bootstrap_digest(digest)
    with ctx.uow(read_only=True) as uow:
        row = uow.session.get(ApiKey, key_id)
        return row is not None and hmac.compare_digest(row.key_hash, digest) and key_active(row, ctx.clock())


def list_keys(ctx: ServiceContext, *, member_id: int | None = None, member: str | None = None) -> list[KeyView]:
    """Keys of one member (by id or name), or every key (operator and auditor keys too)."""
    with ctx.uow(read_only=True) as uow:
        s = uow.session
        if member is not None:
            member_id = _member_id(s, member)
        q = select(ApiKey).order_by(ApiKey.id)
        if member_id is not None:
            q = q.where(ApiKey.member_id == member_id)
        names = dict(s.execute(select(Member.id, Member.name)).all())
        now = ctx.clock()
        return [_view(k, names, now) for k in s.scalars(q)]


def revoke(
    ctx: ServiceContext, actor: Principal, key_id: int, *, member_id: int | None = None, member: str | None = None
) -> KeyView:
    """Revoke a key at once, in this process and (within ``auth_change_check_seconds``) every other."""
    with ctx.uow() as uow:
        s = uow.session
        if member is not None:
            member_id = _member_id(s, member)
        _scoped(s, key_id, member_id)
        row = revoke_api_key(s, key_id, now=ctx.clock())
        record_action(s, actor.actor, "key.revoke", {"key": key_id, "prefix": row.prefix, "member": row.member_id})
        uow.commit()
        view, digest = _view(row, _names(s, row), ctx.clock()), row.key_hash  # read before the unit of work ends
    ctx.keys.drop(digest)
    return view


def rotate(
    ctx: ServiceContext,
    actor: Principal,
    key_id: int,
    *,
    overlap_seconds: int,
    label: str | None = None,
    member_id: int | None = None,
    member: str | None = None,
) -> Rotated:
    """A new key (shown once) for the key's role and member; the old one works ``overlap_seconds`` more.

    The overlap lets a client deploy the new key before the old one stops; 0 revokes the old key now.
    """
    with ctx.uow() as uow:
        s = uow.session
        if member is not None:
            member_id = _member_id(s, member)
        _scoped(s, key_id, member_id)
        old, new, key = rotate_api_key(s, key_id, overlap_seconds=overlap_seconds, label=label, now=ctx.clock())
        record_action(
            s,
            actor.actor,
            "key.rotate",
            {"key": key_id, "new_key": new.id, "prefix": new.prefix, "overlap_seconds": overlap_seconds},
        )
        uow.commit()
        names, now = _names(s, old), ctx.clock()
        rotated = Rotated(old=_view(old, names, now), new=_view(new, names, now), api_key=key)
        digest = old.key_hash  # read before the unit of work ends (its rollback expires the rows)
    ctx.keys.drop(digest)  # re-read with its new expiry on next use
    return rotated


def _member_id(s: Session, name: str) -> int:
    mid = s.scalar(select(Member.id).where(Member.name == name))
    if mid is None:
        raise NotFound(f"no member {name!r}", field="name", name=name)
    return mid


def _scoped(s: Session, key_id: int, member_id: int | None) -> None:
    owner = s.execute(select(ApiKey.member_id).where(ApiKey.id == key_id)).first()
    if owner is None or (member_id is not None and owner[0] != member_id):
        raise NotFound(f"no API key {key_id}", field="key_id", key_id=key_id)


def _names(s: Session, row: ApiKey) -> dict[int, str]:
    if row.member_id is None:
        return {}
    return dict(s.execute(select(Member.id, Member.name).where(Member.id == row.member_id)).all())


def _view(k: ApiKey, names: dict[int, str], now: datetime) -> KeyView:
    return KeyView(
        id=k.id,
        prefix=k.prefix,
        role=k.role,
        member=names.get(k.member_id) if k.member_id is not None else None,
        label=k.label,
        created_at=k.created_at,
        expires_at=k.expires_at,
        revoked_at=k.revoked_at,
        last_used_at=k.last_used_at,
        active=key_active(k, now),
    )
