"""API keys: random 32 bytes shown once, stored as sha256, resolved to a principal.

Bootstrap operator/auditor keys come from settings
(``CLEARING_API__OPERATOR_KEY`` / ``CLEARING_API__AUDITOR_KEY``); only their
hashes are kept in memory. Every other key lives in ``api_keys``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from clearing.adapters.db.models import ApiKey, Member, utcnow
from clearing.domain.vocabulary import Role
from clearing.errors import NotFound, ValidationError

_PREFIX = {Role.MEMBER: "chm_", Role.OPERATOR: "cho_", Role.AUDITOR: "cha_"}


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


def revoke_api_key(session: Session, key_id: int) -> None:
    row = session.get(ApiKey, key_id)
    if row is None:
        raise NotFound(f"no API key {key_id}", field="key_id", key_id=key_id)
    if row.revoked_at is None:
        row.revoked_at = utcnow()


class KeyResolver:
    """Resolves a presented key to a :class:`Principal`.

    Lookups are cached per process for ``ttl`` seconds (0 disables), so a
    revoked key or suspended member's key may work for up to ``ttl`` more
    seconds; suspension itself is enforced per obligation by the risk rules.
    """

    def __init__(self, *, operator_key: str | None = None, auditor_key: str | None = None, ttl: float = 5.0) -> None:
        self._bootstrap: dict[str, Principal] = {}
        if operator_key:
            self._bootstrap[hash_key(operator_key)] = Principal(role=Role.OPERATOR, key_id=None)
        if auditor_key:
            self._bootstrap[hash_key(auditor_key)] = Principal(role=Role.AUDITOR, key_id=None)
        self.ttl = ttl
        self._cache: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def cached(self, key: str) -> Principal | None:
        digest = hash_key(key)
        for known, principal in self._bootstrap.items():
            if hmac.compare_digest(known, digest):
                return principal
        hit = self._cache.get(digest)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        return None

    def resolve(self, session: Session, key: str) -> Principal | None:
        found = self.cached(key)
        if found is not None:
            return found
        digest = hash_key(key)
        row = session.execute(
            select(ApiKey.id, ApiKey.role, ApiKey.revoked_at, Member.id, Member.name, Member.address)
            .outerjoin(Member, Member.id == ApiKey.member_id)
            .where(ApiKey.key_hash == digest)
        ).first()
        if row is None or row[2] is not None:
            return None
        principal = Principal(role=row[1], key_id=row[0], member_id=row[3], member_name=row[4], member_address=row[5])
        if self.ttl > 0:
            with self._lock:
                if len(self._cache) > 10_000:
                    self._cache.clear()
                self._cache[digest] = (time.monotonic() + self.ttl, principal)
        return principal

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()
