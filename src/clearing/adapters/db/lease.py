"""Leases: which process of many may do a job that only one may do at a time (the chain writer).

On PostgreSQL a lease is a session-level advisory lock (``pg_try_advisory_lock``)
taken on a connection of its own, held open while the process leads. Losing
that connection loses the lease: the server releases the lock when the
session ends (the process died, or the network dropped it), and another
process's next :meth:`Lease.acquire` takes it over. The leader checks its
connection on every :meth:`Lease.acquire`, so it notices a lost lease before
its next job rather than acting on a lease it no longer holds.

On SQLite the house runs in one process (``clearing serve`` refuses more
workers there), so :class:`AlwaysHeld` is the lease: held from the start.

:func:`xact_lock` is the transaction-scoped sibling: it serialises one short
job (indexing chain events) across processes until the transaction ends.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)


def lock_key(name: str) -> int:
    """The advisory-lock key of a lease name: a signed 64-bit integer, stable across processes.

    >>> lock_key("clearing.chain-writer") == lock_key("clearing.chain-writer")
    True
    >>> -(2**63) <= lock_key("x") < 2**63
    True
    """
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


class Lease:
    """Held by at most one process at a time. ``generation`` counts the times this process took it."""

    name: str = ""
    generation: int = 0

    @property
    def held(self) -> bool:
        """Whether this process held the lease when it last looked (no I/O)."""
        raise NotImplementedError

    def acquire(self) -> bool:
        """Whether this process holds the lease now, taking it if it is free (never blocks for long)."""
        raise NotImplementedError

    def release(self) -> None:
        """Give the lease up (another process may take it at once)."""


class AlwaysHeld(Lease):
    """The lease of a house that runs in one process (SQLite, an in-process chain): always held."""

    def __init__(self, name: str = "single-process") -> None:
        self.name = name
        self.generation = 1

    @property
    def held(self) -> bool:
        return True

    def acquire(self) -> bool:
        return True


class AdvisoryLease(Lease):
    """A PostgreSQL session-level advisory lock on a dedicated connection.

    ``retry_seconds``: a process that does not hold the lease tries again at
    most this often (each try is one query; the connection is kept).
    """

    def __init__(self, url: str, name: str, *, retry_seconds: float = 1.0) -> None:
        self.name = name
        self.key = lock_key(name)
        self.retry_seconds = retry_seconds
        self.generation = 0
        self._engine: Engine = create_engine(
            url,
            poolclass=NullPool,
            # the client notices a dead server too, not only the server a dead client
            connect_args={"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3},
        )
        self._conn: Connection | None = None
        self._held = False
        self._next_try = 0.0
        self._lock = threading.Lock()

    @property
    def held(self) -> bool:
        return self._held

    def acquire(self) -> bool:
        with self._lock:
            if self._held:
                if self._alive():
                    return True
                log.warning("lost the %s lease (its connection ended); another process may take it over", self.name)
                self._drop()
            now = time.monotonic()
            if now < self._next_try:
                return False
            self._next_try = now + self.retry_seconds
            try:
                if self._conn is None:
                    self._conn = self._connect()
                got = bool(self._conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar())
            except Exception as exc:  # the database is unreachable: not the leader, try again later
                log.warning("could not try the %s lease: %s", self.name, exc)
                self._drop()
                return False
            if got:
                self._held = True
                self.generation += 1
                log.warning("this process (pid %d) now holds the %s lease", os.getpid(), self.name)
            return got

    def release(self) -> None:
        with self._lock:
            if self._conn is not None and self._held:
                try:
                    self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
                except Exception:  # the session is gone, and the lock with it
                    pass
            self._drop()
        self._engine.dispose()

    def backend_pid(self) -> int | None:
        """The server process of the lease's session (tests end it to take the lease away)."""
        with self._lock:
            if self._conn is None:
                return None
            return int(self._conn.execute(text("SELECT pg_backend_pid()")).scalar_one())

    def _connect(self) -> Connection:
        conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        if self._engine.url.host:
            # the server notices a dead client within ~25 s even if no FIN reaches it (keepalive probes)
            for setting, value in (
                ("tcp_keepalives_idle", 10),
                ("tcp_keepalives_interval", 5),
                ("tcp_keepalives_count", 3),
            ):
                conn.execute(text(f"SET {setting} = {value}"))
        return conn

    def _alive(self) -> bool:
        assert self._conn is not None
        try:
            self._conn.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    def _drop(self) -> None:
        self._held = False
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # already broken
                pass
            self._conn = None


def for_database(url: str, name: str, *, retry_seconds: float = 1.0) -> Lease:
    """An advisory lease on PostgreSQL; on SQLite (one process) a lease always held."""
    if make_url(url).get_backend_name() == "postgresql":
        return AdvisoryLease(url, name, retry_seconds=retry_seconds)
    return AlwaysHeld(name)


def xact_lock(session: Session, name: str) -> None:
    """Serialise a job across processes until the session's transaction ends (PostgreSQL; SQLite's
    ``BEGIN IMMEDIATE`` already does)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key(name)})
