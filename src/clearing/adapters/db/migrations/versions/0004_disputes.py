"""Disputes of obligations and complaints against members, each with the operator's resolution

Revision ID: 0004_disputes
Revises: 0004_member_scoped_ids
Create Date: 2026-12-01

At most one open dispute per obligation: a unique index over the open ones.
Disputes and complaints name their obligation by ``obligation_key``, its
identity since 0004_member_scoped_ids (an id alone is unique only per
submitter), so this revision comes after that one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from clearing.adapters.db import types as ctypes

revision = "0004_disputes"
down_revision = "0004_member_scoped_ids"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "complaints",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("filed_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("against_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("obligation_key", sa.String(length=66), nullable=True),
        sa.Column("reason", sa.String(length=1024), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("resolution", sa.String(length=1024), nullable=True),
        sa.Column("resolver", sa.String(length=128), nullable=True),
        sa.Column("created_at", ctypes.UtcDateTime(), nullable=False),
        sa.Column("resolved_at", ctypes.UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["against_id"], ["members.id"], name=op.f("fk_complaints_against_id_members")),
        sa.ForeignKeyConstraint(["filed_by_id"], ["members.id"], name=op.f("fk_complaints_filed_by_id_members")),
        sa.ForeignKeyConstraint(
            ["obligation_key"],
            ["obligations.obligation_key"],
            name=op.f("fk_complaints_obligation_key_obligations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaints")),
    )
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_complaints_against_id_state"), ["against_id", "state"], unique=False)
        batch_op.create_index(batch_op.f("ix_complaints_filed_by_id_state"), ["filed_by_id", "state"], unique=False)
        batch_op.create_index(batch_op.f("ix_complaints_state"), ["state"], unique=False)

    op.create_table(
        "disputes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("obligation_key", sa.String(length=66), nullable=False),
        sa.Column("filed_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("against_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("reason", sa.String(length=1024), nullable=False),
        sa.Column("phase", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("hold_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("resolution", sa.String(length=1024), nullable=True),
        sa.Column("resolver", sa.String(length=128), nullable=True),
        sa.Column("reversal_obligation_key", sa.String(length=66), nullable=True),
        sa.Column("created_at", ctypes.UtcDateTime(), nullable=False),
        sa.Column("resolved_at", ctypes.UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["against_id"], ["members.id"], name=op.f("fk_disputes_against_id_members")),
        sa.ForeignKeyConstraint(["filed_by_id"], ["members.id"], name=op.f("fk_disputes_filed_by_id_members")),
        sa.ForeignKeyConstraint(["hold_id"], ["holds.id"], name=op.f("fk_disputes_hold_id_holds")),
        sa.ForeignKeyConstraint(
            ["obligation_key"],
            ["obligations.obligation_key"],
            name=op.f("fk_disputes_obligation_key_obligations"),
        ),
        sa.ForeignKeyConstraint(
            ["reversal_obligation_key"],
            ["obligations.obligation_key"],
            name=op.f("fk_disputes_reversal_obligation_key_obligations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disputes")),
    )
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_disputes_against_id_state"), ["against_id", "state"], unique=False)
        batch_op.create_index(batch_op.f("ix_disputes_filed_by_id_state"), ["filed_by_id", "state"], unique=False)
        batch_op.create_index(batch_op.f("ix_disputes_obligation_key"), ["obligation_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_disputes_state"), ["state"], unique=False)
        batch_op.create_index(
            "uq_disputes_open_obligation",
            ["obligation_key"],
            unique=True,
            sqlite_where=sa.text("state = 'open'"),
            postgresql_where=sa.text("state = 'open'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_disputes_open_obligation",
            sqlite_where=sa.text("state = 'open'"),
            postgresql_where=sa.text("state = 'open'"),
        )
        batch_op.drop_index(batch_op.f("ix_disputes_state"))
        batch_op.drop_index(batch_op.f("ix_disputes_obligation_key"))
        batch_op.drop_index(batch_op.f("ix_disputes_filed_by_id_state"))
        batch_op.drop_index(batch_op.f("ix_disputes_against_id_state"))

    op.drop_table("disputes")
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaints_state"))
        batch_op.drop_index(batch_op.f("ix_complaints_filed_by_id_state"))
        batch_op.drop_index(batch_op.f("ix_complaints_against_id_state"))

    op.drop_table("complaints")
