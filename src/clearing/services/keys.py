"""API keys: random 32 bytes shown once, stored as sha256, resolved to a principal.

Bootstrap operator/auditor keys come from settings
(``CLEARING_API__OPERATOR_KEY`` / ``CLEARING_API__AUDITOR_KEY``); only their
hashes are kept in memory, and they are neither revoked nor rotated here (change
the setting). Every other key lives in ``api_keys``: it can be revoked (at
once), rotated (a new key; the old one works for an overlap, then expires), and
records when it was last used. Each revocation or rotation appends an
``api_key_changes`` row, which every process's :class:`KeyResolver` follows.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from limits import parse as parse_limit
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from clearing.adapters.db.models import ApiKey, ApiKeyChange, Member, utcnow
from clearing.domain.vocabulary import Role
from clearing.errors import Conflict, NotFound, TooManyRequests, ValidationError

_PREFIX = {Role.MEMBER: "chm_", Role.OPERATOR: "cho_", Role.AUDITOR: "cha_"}
#: Longest overlap a rotation may give the old key (30 days).
MAX_OVERLAP_SECONDS = 30 * 86_400


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling. ``member_*`` are set for member keys only."""

    role: str
    key_id: int | None
    member_id: int | None = None
    member_name: str | None = None
    member_address: str | None = None

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        who = self.member_name or (f"key{self.key_id}" if self.key_id is not None else "bootstrap")
        return f"{self.role}:{who}"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def generate_key(role: str) -> str:
    """``chm_`` / ``cho_`` / ``cha_`` + 32 random bytes, url-safe base64."""
    return _PREFIX[Role(role)] + secrets.token_urlsafe(32)


def create_api_key(session: Session, *, role: str, member_id: int | None = None, label: str = "") -> tuple[ApiKey, str]:
    """Add a key row (not committed: the caller's unit of work commits) and return it with the clear key."""
    role = Role(role)
    if (role is Role.MEMBER) != (member_id is not None):
        raise ValidationError("member keys need a member; operator/auditor keys must not have one", field="role")
    key = generate_key(role)
    row = ApiKey(key_hash=hash_key(key), prefix=key[:8], role=role, member_id=member_id, label=label)
    session.add(row)
    session.flush()
    return row, key


def revoke_api_key(session: Session, key_id: int, *, now: datetime | None = None) -> ApiKey:
    """Revoke a key at once (the caller commits); logs the change for other processes' caches."""
    row = session.get(ApiKey, key_id, with_for_update=True)
    if row is None:
        raise NotFound(f"no API key {key_id}", field="key_id", key_id=key_id)
    if row.revoked_at is None:
        row.revoked_at = now or utcnow()
        session.add(ApiKeyChange(key_id=row.id, change="revoke", at=row.revoked_at))
        session.flush()
    return row


def rotate_api_key(
    session: Session, key_id: int, *, overlap_seconds: int, label: str | None = None, now: datetime | None = None
) -> tuple[ApiKey, ApiKey, str]:
    """A new key for the same role and member; the old one keeps working ``overlap_seconds`` more (0: revoked now).

    Returns ``(old row, new row, new clear key)``; the caller commits.
    """
    if type(overlap_seconds) is not int or not 0 <= overlap_seconds <= MAX_OVERLAP_SECONDS:
        raise ValidationError(
            f"overlap_seconds must be an integer from 0 to {MAX_OVERLAP_SECONDS}", field="overlap_seconds"
        )
    now = now or utcnow()
    old = session.get(ApiKey, key_id, with_for_update=True)
    if old is None:
        raise NotFound(f"no API key {key_id}", field="key_id", key_id=key_id)
    if not key_active(old, now):
        raise Conflict(f"API key {key_id} is revoked or expired", field="key_id", key_id=key_id)
    new, key = create_api_key(
        session, role=old.role, member_id=old.member_id, label=old.label if label is None else label
    )
    if overlap_seconds == 0:
        old.revoked_at = now
    else:
        ends = now + timedelta(seconds=overlap_seconds)
        old.expires_at = ends if old.expires_at is None else min(old.expires_at, ends)
    session.add(ApiKeyChange(key_id=old.id, change="rotate", at=now))
    session.flush()
    return old, new, key


def key_active(row: ApiKey, now: datetime) -> bool:
    """Neither revoked nor past the end of a rotation's overlap."""
    return row.revoked_at is None and (row.expires_at is None or row.expires_at > now)


def touch_api_key(session: Session, key_id: int, now: datetime) -> None:
    """Record that the key authenticated a request at ``now`` (the caller commits)."""
    session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now))


_LOOKUP = (
    select(ApiKey.id, ApiKey.role, ApiKey.revoked_at, ApiKey.expires_at, Member.id, Member.name, Member.address)
    .outerjoin(Member, Member.id == ApiKey.member_id)
    .where(ApiKey.key_hash == bindparam("digest"))
)
_LATEST_CHANGE = select(func.max(ApiKeyChange.id))
_CHANGED_SINCE = (
    select(ApiKey.key_hash)
    .join(ApiKeyChange, ApiKeyChange.key_id == ApiKey.id)
    .where(ApiKeyChange.id > bindparam("seen"))
)


def key_prefix(key: str) -> str:
    """The first characters of a key, as ``api_keys.prefix`` stores them (what listings and the throttle use)."""
    return key[:8]


class AuthThrottle:
    """Failed authentications counted per client address and per key prefix, in a moving window.

    Counting with the ``limits`` package (kept, tested moving-window counters with reset times,
    which give Retry-After exactly) in this process's memory: no ledger query, so a flood of bad
    keys costs no database work past the limit. With N processes each counts its own share.
    """

    def __init__(self, limit: str = "20/minute") -> None:
        try:
            self._item = parse_limit(limit)
        except ValueError as exc:
            raise ValidationError(f"auth_failure_limit {limit!r}: {exc}", field="api.auth_failure_limit") from None
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def check(self, client: str, key: str) -> None:
        """Raise :class:`~clearing.errors.TooManyRequests` if the client or the key's prefix is past the limit."""
        for scope, ident in (("client", client), ("prefix", key_prefix(key))):
            if not self._limiter.test(self._item, scope, ident):
                reset = self._limiter.get_window_stats(self._item, scope, ident).reset_time
                raise TooManyRequests(
                    f"too many failed authentications from this {'client' if scope == 'client' else 'key prefix'}; "
                    f"limit {self._item}",
                    field="authorization",
                    retry_after=max(1, math.ceil(reset - time.time())),
                    scope=scope,
                )

    def failed(self, client: str, key: str) -> None:
        """Count one failed authentication against the client and the key's prefix."""
        self._limiter.hit(self._item, "client", client)
        self._limiter.hit(self._item, "prefix", key_prefix(key))


class KeyResolver:
    """Resolves a presented key to a :class:`Principal`, with a per-process cache that revocation reaches.

    A resolved key is cached for ``ttl`` seconds (0 disables), never past the end of a rotation's
    overlap. Revoking or rotating a key drops its entry in the process that did it (:meth:`drop`)
    and appends an ``api_key_changes`` row; every process reads that log's newest id at most every
    ``change_check_seconds`` (one indexed query per interval, not per request) and drops the keys
    changed since, so a key revoked elsewhere stops working within that interval (0: every
    request looks). :meth:`cached` answers only while the last look is that recent, so the fast
    path never outlives it. Suspension is enforced per obligation by the risk rules.
    """

    def __init__(
        self,
        *,
        operator_key: str | None = None,
        auditor_key: str | None = None,
        ttl: float = 5.0,
        change_check_seconds: float = 0.5,
        touch_seconds: float = 60.0,
        negative_ttl: float = 60.0,
        failure_limit: str = "20/minute",
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._bootstrap: dict[str, Principal] = {}
        if operator_key:
            self._bootstrap[hash_key(operator_key)] = Principal(role=Role.OPERATOR, key_id=None)
        if auditor_key:
            self._bootstrap[hash_key(auditor_key)] = Principal(role=Role.AUDITOR, key_id=None)
        self.ttl = ttl
        self.change_check_seconds = change_check_seconds
        self.touch_seconds = touch_seconds
        self.clock = clock
        #: digest -> (monotonic deadline, key's expires_at or None, principal)
        self._cache: dict[str, tuple[float, datetime | None, Principal]] = {}
        self._seen_change: int | None = None
        self._checked_at = -math.inf
        self._touched: dict[int, float] = {}
        #: digest -> monotonic deadline: keys the ledger said are unknown, revoked or expired (they stay so).
        self._bad: dict[str, float] = {}
        self.negative_ttl = negative_ttl
        self.throttle = AuthThrottle(failure_limit)
        self._lock = threading.Lock()

    def bootstrap(self, key: str) -> Principal | None:
        digest = hash_key(key)
        for known, principal in self._bootstrap.items():
            if hmac.compare_digest(known, digest):
                return principal
        return None

    def is_bootstrap_digest(self, digest: str) -> bool:
        """Whether ``digest`` is the hash of a key the settings still configure (operator, auditor, member)."""
        return any(hmac.compare_digest(known, digest) for known in self._bootstrap)

    def cached(self, key: str) -> Principal | None:
        """The principal without touching the ledger, or None when the ledger must be asked."""
        found = self.bootstrap(key)
        if found is not None:
            return found
        now = time.monotonic()
        if now - self._checked_at >= self.change_check_seconds:
            return None  # the change log is due a look: take the slow path
        hit = self._cache.get(hash_key(key))
        if hit is not None and hit[0] > now and (hit[1] is None or hit[1] > self.clock()):
            return hit[2]
        return None

    def known_bad(self, key: str) -> bool:
        """Whether the ledger said recently that ``key`` does not work (asked again after ``negative_ttl``)."""
        deadline = self._bad.get(hash_key(key))
        return deadline is not None and deadline > time.monotonic()

    def _remember_bad(self, digest: str) -> None:
        if self.negative_ttl > 0:
            with self._lock:
                if len(self._bad) > 100_000:
                    self._bad.clear()
                self._bad[digest] = time.monotonic() + self.negative_ttl

    def resolve(self, session: Session, key: str) -> Principal | None:
        """The principal for ``key`` (None: unknown, revoked or expired), reading the ledger as needed."""
        found = self.bootstrap(key)
        if found is not None:
            return found
        self._follow_changes(session)
        found = self.cached(key)
        if found is not None:
            return found
        digest = hash_key(key)
        row = session.execute(_LOOKUP, {"digest": digest}).first()
        if row is None:
            self._remember_bad(digest)
            return None
        key_id, role, revoked_at, expires_at, member_id, member_name, member_address = row
        now = self.clock()
        if revoked_at is not None or (expires_at is not None and expires_at <= now):
            self._remember_bad(digest)
            return None
        principal = Principal(
            role=role, key_id=key_id, member_id=member_id, member_name=member_name, member_address=member_address
        )
        if self.ttl > 0:
            with self._lock:
                if len(self._cache) > 10_000:
                    self._cache.clear()
                self._cache[digest] = (time.monotonic() + self.ttl, expires_at, principal)
        return principal

    def _follow_changes(self, session: Session) -> None:
        """Drop cached keys revoked or rotated by any process since the last look (if a look is due)."""
        if time.monotonic() - self._checked_at < self.change_check_seconds:
            return
        checked = time.monotonic()
        latest = session.scalar(_LATEST_CHANGE) or 0
        seen = self._seen_change
        if seen is None or latest < seen:  # first look, or a ledger rebuilt under us: forget everything
            self.forget()
        elif latest > seen:
            for digest in session.scalars(_CHANGED_SINCE, {"seen": seen}):
                self.drop(digest)
        self._seen_change, self._checked_at = latest, checked

    def drop(self, digest: str) -> None:
        """Forget one key (by its hash) at once: the process that revokes it calls this."""
        with self._lock:
            self._cache.pop(digest, None)

    def touch_due(self, key_id: int) -> bool:
        """Whether this process should record the key's last use now (at most every ``touch_seconds``)."""
        now = time.monotonic()
        with self._lock:
            if now - self._touched.get(key_id, -math.inf) < self.touch_seconds:
                return False
            if len(self._touched) > 10_000:
                self._touched.clear()
            self._touched[key_id] = now
            return True

    def forget(self) -> None:
        """Forget every cached principal (keys known to be bad stay known: they never work again)."""
        with self._lock:
            self._cache.clear()
