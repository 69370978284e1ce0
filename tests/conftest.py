"""Shared fixtures: a real, migrated ledger on SQLite and on PostgreSQL.

PostgreSQL is the machine's server (``CLEARING_TEST_POSTGRES_URL``, default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``). One fresh database is
created per test session, migrated, and dropped at the end; tests truncate it.
Tests that need it are marked ``postgres``. They are skipped ONLY when the
variable is ``skip``; an unreachable server fails them loudly.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy import Engine, create_engine, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from clearing.adapters.db import make_engine, make_session_factory, migrate
from clearing.adapters.db.models import Base, Member, Obligation
from clearing.bootstrap import build_service
from clearing.domain.merkle import obligation_key
from clearing.domain.vocabulary import Role
from clearing.services import members
from clearing.services.context import ServiceContext
from clearing.services.keys import Principal
from clearing.settings import Settings

PG_URL = os.environ.get("CLEARING_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ROOT = Path(__file__).resolve().parents[1]
#: The `clearing` command of this environment (what README's `.venv/bin/clearing` is).
CLEARING_EXE = str(Path(sys.executable).with_name("clearing"))


@contextmanager
def clearing_serve(cwd: Path, env: dict[str, str], port: int) -> Iterator[subprocess.Popen[str]]:
    """The real `clearing serve` on ``port``, yielded once /health answers; stopped on exit.

    Its stderr is read after it stops (``proc.stderr_text``)."""
    proc = subprocess.Popen(
        [CLEARING_EXE, "serve", "--port", str(port)],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"serve exited {proc.returncode}: {proc.communicate()[1][-3000:]}")
            assert time.monotonic() < deadline, "serve did not start"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.stderr_text = proc.communicate(timeout=30)[1]  # type: ignore[attr-defined]


def clearing_env(**overrides: str) -> dict[str, str]:
    """The environment of a `clearing` subprocess: no CLEARING_* of the caller's, this checkout's
    package first (an absolute PYTHONPATH: the process may run in any directory), then ``overrides``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLEARING_") or k == "CLEARING_TEST_POSTGRES_URL"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])])
    return {**env, **overrides}


@dataclass
class Database:
    url: str
    engine: Engine
    sessions: sessionmaker[Session]

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name


@pytest.fixture(scope="session")
def pg_database_url():
    """A fresh, migrated PostgreSQL database for this test session."""
    if PG_URL == "skip":
        pytest.skip("CLEARING_TEST_POSTGRES_URL=skip")
    name = f"clearing_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - fail loudly, never skip silently
        pytest.fail(f"PostgreSQL at {PG_URL} is not usable ({exc}); set CLEARING_TEST_POSTGRES_URL=skip to skip")
    url = PG_URL.rsplit("/", 1)[0] + f"/{name}"
    migrate(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once is the slow part)."""
    path = tmp_path_factory.mktemp("template") / "ledger.db"
    migrate(f"sqlite:///{path}")
    return path


_TABLES = ", ".join(t.name for t in reversed(Base.metadata.sorted_tables))


def _pg(url: str) -> Database:
    engine = make_engine(url, pool_size=30)
    with engine.begin() as conn:
        # A transaction an earlier test left open (e.g. an expired row read after its unit of work) would
        # make TRUNCATE wait forever: fail the test instead, naming the cause.
        conn.execute(text("SET LOCAL lock_timeout = '60s'"))
        conn.execute(text(f"TRUNCATE {_TABLES} RESTART IDENTITY CASCADE"))
    return Database(url, engine, make_session_factory(engine))


def _sqlite(template: Path, tmp_path: Path) -> Database:
    path = tmp_path / "ledger.db"
    shutil.copy(template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    return Database(url, engine, make_session_factory(engine))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request, tmp_path) -> Database:
    """The ledger on each backend in turn."""
    if request.param == "sqlite":
        database = _sqlite(request.getfixturevalue("sqlite_template"), tmp_path)
    else:
        database = _pg(request.getfixturevalue("pg_database_url"))
    yield database
    database.engine.dispose()


@pytest.fixture
def sqlite_db(sqlite_template, tmp_path) -> Database:
    database = _sqlite(sqlite_template, tmp_path)
    yield database
    database.engine.dispose()


@pytest.fixture
def pg_db(pg_database_url) -> Database:
    database = _pg(pg_database_url)
    yield database
    database.engine.dispose()


# --------------------------------------------------------------------------- a house without a chain

OPERATOR = Principal(role=Role.OPERATOR, key_id=None)


def ledger_house(database: Database, settings: Settings | None = None, **kw) -> ServiceContext:
    """The service on ``database`` without a chain: its chain calls stay planned in the outbox."""
    settings = settings or Settings(database_url=database.url)
    return build_service(settings, engine=database.engine, with_chain=False, **kw)


@dataclass
class Admitted:
    principal: Principal
    api_key: str
    account: LocalAccount


def admit_member(
    ctx: ServiceContext,
    name: str,
    *,
    collateral: int = 0,
    credit: int = 0,
    tier: str = "A",
    account: LocalAccount | None = None,
) -> Admitted:
    """Admit a member through the service, then set its on-chain mirror as chain sync would
    (collateral posted, credit limit granted), for houses without a chain."""
    account = account or Account.create()
    done = members.admit(ctx, OPERATOR, name=name, address=account.address, tier=tier, credit_line=credit)
    with ctx.uow() as uow:
        uow.session.execute(
            update(Member).where(Member.name == name).values(chain_balance=collateral, chain_credit_limit=credit)
        )
        uow.commit()
    m = done.member
    principal = Principal(role=Role.MEMBER, key_id=None, member_id=m.id, member_name=m.name, member_address=m.address)
    return Admitted(principal, done.api_key, account)


def record_trade(ctx: ServiceContext, trades: list[tuple[str, str, int, datetime]], status: str = "settled") -> None:
    """Obligations written straight into the ledger, as if submitted (and, by default, settled) at their
    ``created_at``: (debtor, creditor, amount, created_at) by member name. For reads of trade history
    (forecasts) that need months of it without running months of cycles."""
    with ctx.uow() as uow:
        s = uow.session
        who = {name: (mid, address) for mid, name, address in s.execute(select(Member.id, Member.name, Member.address))}
        for debtor, creditor, amount, at in trades:
            oid = f"trade-{uuid.uuid4().hex[:12]}"
            s.add(
                Obligation(
                    obligation_key="0x" + obligation_key(who[debtor][1], oid).hex(),
                    id=oid,
                    debtor_id=who[debtor][0],
                    creditor_id=who[creditor][0],
                    amount=amount,
                    created_at=at,
                    submitted_by=who[debtor][0],
                    body_hash="0" * 64,
                    status=status,
                )
            )
        uow.commit()


def give_line(ctx: ServiceContext, name: str, line: int) -> None:
    """Set a member's credit line in the ledger and on the chain mirror, as rescoring and chain sync would once
    its score earned it (a member admitted without collateral posted gets no provisional line)."""
    with ctx.uow() as uow:
        uow.session.execute(update(Member).where(Member.name == name).values(credit_line=line, chain_credit_limit=line))
        uow.commit()
