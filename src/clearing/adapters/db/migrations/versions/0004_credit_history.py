"""Credit that members earn: score history, operator overrides, credit drawings, carried count per obligation

Revision ID: 0004_credit_history
Revises: 0003_api_key_lifecycle
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from clearing.adapters.db import types as ctypes

revision = "0004_credit_history"
down_revision = "0004_disputes"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("obligations", schema=None) as batch_op:
        # A server default: existing rows (and COPY, which names its columns) get 0 without a rewrite on PostgreSQL.
        batch_op.add_column(sa.Column("carried_cycles", sa.Integer(), server_default="0", nullable=False))

    op.create_table(
        "credit_overrides",
        sa.Column("id", _ID, nullable=False),
        sa.Column("member_id", _ID, nullable=False),
        sa.Column("tier", sa.String(length=1), nullable=True),
        sa.Column("credit_line", ctypes.Amount(), nullable=True),
        sa.Column("above_cap", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=512), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("created_at", ctypes.UtcDateTime(), nullable=False),
        sa.Column("expires_at", ctypes.UtcDateTime(), nullable=False),
        sa.Column("ended_at", ctypes.UtcDateTime(), nullable=True),
        sa.Column("ended_by", sa.String(length=128), nullable=True),
        sa.Column("end_reason", sa.String(length=512), nullable=True),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_credit_overrides_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_overrides")),
    )
    with op.batch_alter_table("credit_overrides", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_credit_overrides_member_id_ended_at"), ["member_id", "ended_at"], unique=False
        )

    op.create_table(
        "credit_scores",
        sa.Column("id", _ID, nullable=False),
        sa.Column("member_id", _ID, nullable=False),
        sa.Column("computed_at", ctypes.UtcDateTime(), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("score_tier", sa.String(length=1), nullable=False),
        sa.Column("tier", sa.String(length=1), nullable=False),
        sa.Column("tier_from", sa.String(length=1), nullable=True),
        sa.Column("credit_line", ctypes.Amount(), nullable=False),
        sa.Column("chain_limit", ctypes.Amount(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("formula", sa.String(length=512), nullable=False),
        sa.Column("factors", sa.JSON(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("changed", sa.JSON(), nullable=False),
        sa.Column("override_id", _ID, nullable=True),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_credit_scores_member_id_members")),
        sa.ForeignKeyConstraint(
            ["override_id"], ["credit_overrides.id"], name=op.f("fk_credit_scores_override_id_credit_overrides")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_scores")),
    )
    with op.batch_alter_table("credit_scores", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credit_scores_member_id_id"), ["member_id", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_credit_scores_tier_from"), ["tier_from"], unique=False)

    op.create_table(
        "credit_draws",
        sa.Column("id", _ID, nullable=False),
        sa.Column("member_id", _ID, nullable=False),
        sa.Column("amount", ctypes.Amount(), nullable=False),
        sa.Column("outstanding", ctypes.Amount(), nullable=False),
        sa.Column("drawn_at", ctypes.UtcDateTime(), nullable=False),
        sa.Column("due_at", ctypes.UtcDateTime(), nullable=False),
        sa.Column("repaid_at", ctypes.UtcDateTime(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_credit_draws_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_draws")),
    )
    with op.batch_alter_table("credit_draws", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credit_draws_member_id_status"), ["member_id", "status"], unique=False)


def downgrade() -> None:
    op.drop_table("credit_draws")
    op.drop_table("credit_scores")
    op.drop_table("credit_overrides")
    with op.batch_alter_table("obligations", schema=None) as batch_op:
        batch_op.drop_column("carried_cycles")
