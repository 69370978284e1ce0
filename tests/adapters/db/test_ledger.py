"""The ledger's storage: exact amounts, migrations, unit of work, append-only audit log."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from clearing.adapters.db import UnitOfWork, make_engine, migrate
from clearing.adapters.db.models import AuditLog, Base, Member, Obligation

PG_URL = os.environ.get("CLEARING_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

BIG = 2**200
UINT256_MAX = 2**256 - 1


def _member(name: str, n: int, **kw) -> Member:
    return Member(name=name, address="0x" + f"{n:040x}", **kw)


def test_amounts_round_trip_exactly(db):
    with UnitOfWork.from_factory(db.sessions) as uow:
        uow.session.add_all(
            [
                _member("big", 1, credit_line=BIG, chain_balance=-BIG, chain_credit_limit=UINT256_MAX),
                _member("small", 2, credit_line=1, chain_balance=2**63 + 1),
            ]
        )
        uow.commit()
    with UnitOfWork.from_factory(db.sessions, read_only=True) as uow:
        big = uow.session.scalars(select(Member).where(Member.name == "big")).one()
        small = uow.session.scalars(select(Member).where(Member.name == "small")).one()
        assert (big.credit_line, big.chain_balance, big.chain_credit_limit) == (BIG, -BIG, UINT256_MAX)
        assert type(big.credit_line) is int
        assert small.chain_balance == 2**63 + 1
    # And through a plain SQL read: the stored value itself is exact.
    with db.engine.connect() as conn:
        raw = conn.execute(text("SELECT credit_line FROM members WHERE name = 'big'")).scalar_one()
        assert int(raw) == BIG


def test_amount_type_refuses_floats(db):
    with UnitOfWork.from_factory(db.sessions) as uow:
        uow.session.add(_member("f", 3, credit_line=1.5))
        with pytest.raises(Exception, match="ints"):
            uow.session.flush()


def test_unit_of_work_rolls_back_without_commit(db):
    with UnitOfWork.from_factory(db.sessions) as uow:
        uow.session.add(_member("gone", 4))
        uow.session.flush()
    with UnitOfWork.from_factory(db.sessions, read_only=True) as uow:
        assert uow.session.scalars(select(Member)).all() == []


def test_obligation_id_is_unique_per_submitter(db):
    with UnitOfWork.from_factory(db.sessions) as uow:
        a, b = _member("a", 5), _member("b", 6)
        uow.session.add_all([a, b])
        uow.session.flush()
        row = dict(debtor_id=a.id, creditor_id=b.id, amount=BIG, submitted_by=a.id, body_hash="h", status="accepted")
        uow.session.add(Obligation(id="o-1", obligation_key="0x" + "01" * 32, **row))
        uow.commit()
    with UnitOfWork.from_factory(db.sessions) as uow:  # the same submitter cannot reuse it, whatever the key
        uow.session.add(Obligation(id="o-1", obligation_key="0x" + "02" * 32, **row))
        with pytest.raises(IntegrityError):
            uow.session.flush()
    with UnitOfWork.from_factory(db.sessions) as uow:  # the other party may use it for its own obligation
        uow.session.add(Obligation(id="o-1", obligation_key="0x" + "03" * 32, **(row | {"submitted_by": b.id})))
        uow.commit()
    with UnitOfWork.from_factory(db.sessions, read_only=True) as uow:
        o = uow.session.get(Obligation, "0x" + "01" * 32)
        assert o.amount == BIG and o.created_at.tzinfo is UTC or o.created_at.utcoffset().total_seconds() == 0
        assert len(uow.session.scalars(select(Obligation).where(Obligation.id == "o-1")).all()) == 2


def test_audit_log_is_append_only(db):
    with UnitOfWork.from_factory(db.sessions) as uow:
        uow.session.add(
            AuditLog(actor="operator:test", action="member.admit", payload={"member": "a"}, at=datetime.now(UTC))
        )
        uow.commit()
    for statement in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"):
            with db.engine.begin() as conn:
                conn.execute(text(statement))


def _schema_diff(url: str) -> list:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            return compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    finally:
        engine.dispose()


def test_migrations_on_fresh_sqlite_match_models(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh' / 'ledger.db'}"  # the directory does not exist yet
    migrate(url)
    assert _schema_diff(url) == []
    migrate(url)  # idempotent: already at head


@pytest.mark.postgres
def test_migrations_on_fresh_postgres_match_models():
    if PG_URL == "skip":
        pytest.skip("CLEARING_TEST_POSTGRES_URL=skip")
    name = f"clearing_mig_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = PG_URL.rsplit("/", 1)[0] + f"/{name}"
        migrate(url)
        assert _schema_diff(url) == []
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_engine_defaults_to_settings_sqlite_file(tmp_path, monkeypatch):
    from clearing.settings import get_settings

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CLEARING_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    try:
        engine = make_engine()
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() > 0
        assert (tmp_path / ".clearing" / "clearing.db").exists()
        engine.dispose()
    finally:
        get_settings.cache_clear()
