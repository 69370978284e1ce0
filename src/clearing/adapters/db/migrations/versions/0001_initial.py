"""initial ledger schema

Revision ID: 0001
Revises:
Create Date: 2026-11-24

All ledger tables, plus a trigger that makes audit_log append-only.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from clearing.adapters.db import types as ctypes

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("at", ctypes.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_action"), ["action"], unique=False)

    op.create_table(
        "chain_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=True),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chain_events")),
        sa.UniqueConstraint("tx_hash", "log_index", name=op.f("uq_chain_events_tx_hash_log_index")),
    )
    with op.batch_alter_table("chain_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chain_events_block_number"), ["block_number"], unique=False)
        batch_op.create_index(batch_op.f("ix_chain_events_event"), ["event"], unique=False)

    op.create_table(
        "cycles",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("opened_at", ctypes.UtcDateTime(), nullable=False),
        sa.Column("cutoff_at", ctypes.UtcDateTime(), nullable=True),
        sa.Column("closed_at", ctypes.UtcDateTime(), nullable=True),
        sa.Column("root", sa.String(length=66), nullable=True),
        sa.Column("gross", ctypes.Amount(), nullable=False),
        sa.Column("settled_value", ctypes.Amount(), nullable=False),
        sa.Column("commit_tx_hash", sa.String(length=66), nullable=True),
        sa.Column("release_tx_hash", sa.String(length=66), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("updated_at", ctypes.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cycles")),
    )
    with op.batch_alter_table("cycles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cycles_state"), ["state"], unique=False)

    op.create_table(
        "members",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("tier", sa.String(length=1), nullable=False),
        sa.Column("tier_reasons", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_reason", sa.String(length=512), nullable=True),
        sa.Column("credit_line", ctypes.Amount(), nullable=False),
        sa.Column("single_order_limit", ctypes.Amount(), nullable=True),
        sa.Column("limit_overrides", sa.JSON(), nullable=False),
        sa.Column("chain_balance", ctypes.Amount(), nullable=False),
        sa.Column("chain_credit_limit", ctypes.Amount(), nullable=False),
        sa.Column("synced_block", sa.BigInteger(), nullable=False),
        sa.Column("reserved_debit", ctypes.Amount(), nullable=False),
        sa.Column("reserved_credit", ctypes.Amount(), nullable=False),
        sa.Column("pending_withdrawal", ctypes.Amount(), nullable=False),
        sa.Column("created_at", ctypes.UtcDateTime(), nullable=False),
        sa.Column("updated_at", ctypes.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_members")),
        sa.UniqueConstraint("address", name=op.f("uq_members_address")),
        sa.UniqueConstraint("name", name=op.f("uq_members_name")),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("label", sa.String(length=128), nullable=False),
        sa.Column("created_at", ctypes.UtcDateTime(), nullable=False),
        sa.Column("revoked_at", ctypes.UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_api_keys_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_keys_member_id"), ["member_id"], unique=False)

    op.create_table(
        "counterparties",
        sa.Column("debtor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("creditor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("first_seen", ctypes.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["creditor_id"], ["members.id"], name=op.f("fk_counterparties_creditor_id_members")),
        sa.ForeignKeyConstraint(["debtor_id"], ["members.id"], name=op.f("fk_counterparties_debtor_id_members")),
        sa.PrimaryKeyConstraint("debtor_id", "creditor_id", name=op.f("pk_counterparties")),
    )
    op.create_table(
        "cycle_positions",
        sa.Column("cycle_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("net_delta", ctypes.Amount(), nullable=False),
        sa.Column("carried", ctypes.Amount(), nullable=False),
        sa.ForeignKeyConstraint(["cycle_id"], ["cycles.id"], name=op.f("fk_cycle_positions_cycle_id_cycles")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_cycle_positions_member_id_members")),
        sa.PrimaryKeyConstraint("cycle_id", "member_id", name=op.f("pk_cycle_positions")),
    )
    op.create_table(
        "cycle_transitions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("cycle_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("at", ctypes.UtcDateTime(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["cycle_id"], ["cycles.id"], name=op.f("fk_cycle_transitions_cycle_id_cycles")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cycle_transitions")),
    )
    with op.batch_alter_table("cycle_transitions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cycle_transitions_cycle_id"), ["cycle_id"], unique=False)

    op.create_table(
        "obligations",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("debtor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("creditor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("amount", ctypes.Amount(), nullable=False),
        sa.Column("reference", sa.String(length=256), nullable=False),
        sa.Column("on_behalf_of", sa.String(length=128), nullable=True),
        sa.Column("created_at", ctypes.UtcDateTime(), nullable=False),
        sa.Column("submitted_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("body_hash", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.String(length=132), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("route", sa.String(length=8), nullable=False),
        sa.Column("shortfall", ctypes.Amount(), nullable=True),
        sa.Column("cycle_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("leaf", sa.String(length=66), nullable=True),
        sa.Column("updated_at", ctypes.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["creditor_id"], ["members.id"], name=op.f("fk_obligations_creditor_id_members")),
        sa.ForeignKeyConstraint(["cycle_id"], ["cycles.id"], name=op.f("fk_obligations_cycle_id_cycles")),
        sa.ForeignKeyConstraint(["debtor_id"], ["members.id"], name=op.f("fk_obligations_debtor_id_members")),
        sa.ForeignKeyConstraint(["submitted_by"], ["members.id"], name=op.f("fk_obligations_submitted_by_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_obligations")),
    )
    with op.batch_alter_table("obligations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_obligations_creditor_id_status"), ["creditor_id", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_obligations_cycle_id"), ["cycle_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_obligations_debtor_id_created_at"), ["debtor_id", "created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_obligations_debtor_id_status"), ["debtor_id", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_obligations_status"), ["status"], unique=False)

    op.create_table(
        "settlement_txs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("cycle_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("amount", ctypes.Amount(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("nonce", sa.BigInteger(), nullable=True),
        sa.Column("tx_hash", sa.String(length=66), nullable=True),
        sa.Column("raw_tx", sa.Text(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("block", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", ctypes.UtcDateTime(), nullable=False),
        sa.Column("updated_at", ctypes.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["cycle_id"], ["cycles.id"], name=op.f("fk_settlement_txs_cycle_id_cycles")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_settlement_txs_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_txs")),
    )
    with op.batch_alter_table("settlement_txs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_settlement_txs_cycle_id"), ["cycle_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_settlement_txs_member_id"), ["member_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_settlement_txs_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_settlement_txs_tx_hash"), ["tx_hash"], unique=False)

    op.create_table(
        "holds",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("obligation_id", sa.String(length=128), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("message", sa.String(length=512), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("release_after", ctypes.UtcDateTime(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", ctypes.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["obligation_id"], ["obligations.id"], name=op.f("fk_holds_obligation_id_obligations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holds")),
    )
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_holds_obligation_id"), ["obligation_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_holds_status"), ["status"], unique=False)

    op.create_table(
        "hold_reviews",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("hold_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("reviewer", sa.String(length=128), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=1024), nullable=False),
        sa.Column("at", ctypes.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["hold_id"], ["holds.id"], name=op.f("fk_hold_reviews_hold_id_holds")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hold_reviews")),
    )
    with op.batch_alter_table("hold_reviews", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hold_reviews_hold_id"), ["hold_id"], unique=False)

    _audit_log_append_only()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_refuse_change()")
    with op.batch_alter_table("hold_reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hold_reviews_hold_id"))

    op.drop_table("hold_reviews")
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_holds_status"))
        batch_op.drop_index(batch_op.f("ix_holds_obligation_id"))

    op.drop_table("holds")
    with op.batch_alter_table("settlement_txs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_settlement_txs_tx_hash"))
        batch_op.drop_index(batch_op.f("ix_settlement_txs_state"))
        batch_op.drop_index(batch_op.f("ix_settlement_txs_member_id"))
        batch_op.drop_index(batch_op.f("ix_settlement_txs_cycle_id"))

    op.drop_table("settlement_txs")
    with op.batch_alter_table("obligations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_obligations_status"))
        batch_op.drop_index(batch_op.f("ix_obligations_debtor_id_status"))
        batch_op.drop_index(batch_op.f("ix_obligations_debtor_id_created_at"))
        batch_op.drop_index(batch_op.f("ix_obligations_cycle_id"))
        batch_op.drop_index(batch_op.f("ix_obligations_creditor_id_status"))

    op.drop_table("obligations")
    with op.batch_alter_table("cycle_transitions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cycle_transitions_cycle_id"))

    op.drop_table("cycle_transitions")
    op.drop_table("cycle_positions")
    op.drop_table("counterparties")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_member_id"))

    op.drop_table("api_keys")
    op.drop_table("members")
    with op.batch_alter_table("cycles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cycles_state"))

    op.drop_table("cycles")
    with op.batch_alter_table("chain_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chain_events_event"))
        batch_op.drop_index(batch_op.f("ix_chain_events_block_number"))

    op.drop_table("chain_events")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_action"))

    op.drop_table("audit_log")


def _audit_log_append_only() -> None:
    """Refuse UPDATE and DELETE on audit_log at the database, not only in code."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'audit_log is append-only';
            END $$
            """
        )
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
            )
