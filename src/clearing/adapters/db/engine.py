"""Engine and session factory from a URL (default ``get_settings().db_url``).

SQLite: WAL journal, ``synchronous=FULL`` (a commit is durable when it
returns), a busy timeout, foreign keys on, and ``BEGIN IMMEDIATE`` for every
transaction that may write, so two writers queue on the busy timeout instead
of failing on a lock upgrade. Read-only units of work begin DEFERRED.
PostgreSQL: ``postgresql+psycopg://`` with a connection pool.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from clearing.settings import Settings, get_settings

#: Execution option a read-only unit of work sets to begin DEFERRED on SQLite.
READ_ONLY = "clearing_read_only"


def normalise_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` mean psycopg 3 here."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(
    url: str | None = None, *, echo: bool | None = None, pool_size: int | None = None, settings: Settings | None = None
) -> Engine:
    settings = settings or get_settings()
    url = normalise_url(url or settings.db_url)
    parsed = make_url(url)
    echo = settings.database.echo if echo is None else echo
    kwargs: dict[str, Any] = {"echo": echo}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": settings.database.busy_timeout_ms / 1000}
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine, settings.database.busy_timeout_ms)
        return engine
    kwargs["pool_size"] = pool_size or settings.database.pool_size
    kwargs["max_overflow"] = settings.database.max_overflow
    kwargs["pool_pre_ping"] = False
    return create_engine(url, **kwargs)


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from pysqlite so BEGIN IMMEDIATE is ours to emit.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get(READ_ONLY):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    # expire_on_commit=False: services map ORM rows to plain results after commit.
    return sessionmaker(engine, expire_on_commit=False, autoflush=False)
