"""Migration 0004 on a ledger that already holds obligations, holds and order actions, on both databases.

Rows recorded before it keep the key their roots were committed with
(``keccak256(utf8(id))``), holds follow their obligation, and afterwards an id
is unique per submitter only. The schema it leaves is the models' (the fresh
migration tests in ``test_ledger.py`` check that from an empty ledger).
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime

import eth_utils
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import IntegrityError

from clearing.adapters.db import make_engine, migrate
from clearing.adapters.db.models import Base

PG_URL = os.environ.get("CLEARING_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BEFORE = "0003_api_key_lifecycle"
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def legacy(oid: str) -> str:
    return "0x" + eth_utils.keccak(text=oid).hex()


def _obligation(oid: str, by: int, status: str = "accepted", cycle: int | None = None, leaf: str | None = None):
    return {
        "id": oid, "debtor_id": 1, "creditor_id": 2, "amount": str(10**20 + len(oid)), "reference": "",
        "on_behalf_of": None, "created_at": NOW, "submitted_by": by, "body_hash": "h" * 64, "signature": None,
        "status": status, "route": "net", "shortfall": None, "cycle_id": cycle, "leaf": leaf, "updated_at": NOW,
        "debtor_seq": 1,
    }  # fmt: skip


def _populate(engine: Engine) -> None:
    """A ledger at 0003 in use: two members, a settled cycle, a held obligation, an order action."""
    with engine.begin() as conn:
        for mid, name in ((1, "alpha"), (2, "beta")):
            conn.execute(
                text(
                    "INSERT INTO members (id, name, address, tier, tier_reasons, status, credit_line, limit_overrides,"
                    " chain_balance, chain_credit_limit, synced_block, reserved_debit, reserved_credit,"
                    " pending_withdrawal, obligation_seq, created_at, updated_at) VALUES (:id, :name, :address, 'A',"
                    " '[]', 'active', '0', '{}', '0', '0', 0, '0', '0', '0', 0, :now, :now)"
                ),
                {"id": mid, "name": name, "address": "0x" + f"{mid:040x}", "now": NOW},
            )
        conn.execute(
            text(
                "INSERT INTO cycles (id, state, opened_at, root, gross, settled_value, detail, updated_at)"
                " VALUES (1, 'SETTLED', :now, :root, '0', '0', '{}', :now)"
            ),  # fmt: skip
            {"now": NOW, "root": "0x" + "ab" * 32},
        )
        columns = ", ".join(_obligation("x", 1))
        insert = text(f"INSERT INTO obligations ({columns}) VALUES ({', '.join(':' + c for c in _obligation('x', 1))})")
        conn.execute(insert, _obligation("old-settled", 1, "settled", 1, "0x" + "cd" * 32))
        conn.execute(insert, _obligation("old-held", 2, "held"))
        conn.execute(insert, _obligation("old-escrow", 1, "escrow"))
        conn.execute(
            text(
                'INSERT INTO holds (obligation_id, rule, message, "values", status, created_at)'
                " VALUES ('old-held', 'single-order-limit', 'over the limit', '{}', 'open', :now)"
            ),  # fmt: skip
            {"now": NOW},
        )
        conn.execute(
            text(
                "INSERT INTO settlement_txs (member_id, kind, payload, state, created_at, updated_at)"
                " VALUES (1, 'order_claim', :payload, 'mined', :now, :now)"
            ),  # fmt: skip
            {"now": NOW, "payload": '{"request_id": "claim", "obligation_id": "old-escrow"}'},
        )


def _check(url: str) -> None:
    engine = make_engine(url)
    try:
        migrate(engine=engine, revision=BEFORE)
        _populate(engine)
        migrate(engine=engine)
        with engine.connect() as conn:
            keys = dict(conn.execute(text("SELECT id, obligation_key FROM obligations")).all())
            assert keys == {i: legacy(i) for i in ("old-settled", "old-held", "old-escrow")}
            # the settled row is untouched otherwise: its committed leaf and cycle stay
            leaf, cycle = conn.execute(text("SELECT leaf, cycle_id FROM obligations WHERE id = 'old-settled'")).one()
            assert (leaf, cycle) == ("0x" + "cd" * 32, 1)
            assert conn.execute(text("SELECT obligation_key FROM holds")).scalar_one() == legacy("old-held")
            payload = conn.execute(text("SELECT payload FROM settlement_txs")).scalar_one()
            payload = payload if isinstance(payload, dict) else __import__("json").loads(payload)
            assert payload["obligation_key"] == legacy("old-escrow") and payload["obligation_id"] == "old-escrow"
        with engine.begin() as conn:
            # the other member may now use an id already taken; the same member still may not
            row = _obligation("old-settled", 2) | {"obligation_key": "0x" + "01" * 32}
            insert = text(f"INSERT INTO obligations ({', '.join(row)}) VALUES ({', '.join(':' + c for c in row)})")
            conn.execute(insert, row)
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(insert, row | {"submitted_by": 1, "obligation_key": "0x" + "02" * 32})
        with pytest.raises(IntegrityError), engine.begin() as conn:  # a hold must name a stored key
            conn.execute(
                text(
                    'INSERT INTO holds (obligation_key, rule, message, "values", status, created_at)'
                    " VALUES ('0x00', 'r', 'm', '{}', 'open', :now)"
                ),  # fmt: skip
                {"now": NOW},
            )
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
        assert diff == []
    finally:
        engine.dispose()


def test_migration_keeps_old_keys_on_sqlite(tmp_path):
    _check(f"sqlite:///{tmp_path / 'ledger.db'}")


@pytest.mark.postgres
def test_migration_keeps_old_keys_on_postgres():
    if PG_URL == "skip":
        pytest.skip("CLEARING_TEST_POSTGRES_URL=skip")
    name = f"clearing_mig4_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        _check(PG_URL.rsplit("/", 1)[0] + f"/{name}")
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
