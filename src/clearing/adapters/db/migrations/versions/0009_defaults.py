"""Member defaults: each declaration, what the waterfall covered on chain, and its cure

Revision ID: 0009_defaults
Revises: 0008_cover2
Create Date: 2027-01-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from clearing.adapters.db import types as ctypes

revision = "0009_defaults"
down_revision = "0008_cover2"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_ACTIVE = sa.text("cured_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "member_defaults",
        sa.Column("id", _ID, nullable=False),
        sa.Column("member_id", _ID, nullable=False),
        sa.Column("declared_at", ctypes.UtcDateTime(), nullable=False),
        sa.Column("reason", sa.String(length=1024), nullable=False),
        sa.Column("trigger", sa.String(length=32), nullable=False),
        sa.Column("declared_by", sa.String(length=128), nullable=False),
        sa.Column("balance_at_declaration", ctypes.Amount(), nullable=False),
        sa.Column("cycle_ids", sa.JSON(), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("loss", ctypes.Amount(), nullable=True),
        sa.Column("written_down", ctypes.Amount(), nullable=True),
        sa.Column("recovered", ctypes.Amount(), nullable=False),
        sa.Column("allocated_at", ctypes.UtcDateTime(), nullable=True),
        sa.Column("cured_at", ctypes.UtcDateTime(), nullable=True),
        sa.Column("cured_by", sa.String(length=128), nullable=True),
        sa.Column("cure_reason", sa.String(length=1024), nullable=True),
        sa.Column("declare_outbox_id", sa.BigInteger(), nullable=True),
        sa.Column("allocate_outbox_id", sa.BigInteger(), nullable=True),
        sa.Column("cure_outbox_id", sa.BigInteger(), nullable=True),
        sa.Column("declare_tx", sa.String(length=66), nullable=True),
        sa.Column("allocate_tx", sa.String(length=66), nullable=True),
        sa.Column("cure_tx", sa.String(length=66), nullable=True),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_member_defaults_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_defaults")),
    )
    with op.batch_alter_table("member_defaults", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_member_defaults_member_id_id"), ["member_id", "id"], unique=False)
        batch_op.create_index(
            "uq_member_defaults_active", ["member_id"], unique=True, sqlite_where=_ACTIVE, postgresql_where=_ACTIVE
        )


def downgrade() -> None:
    with op.batch_alter_table("member_defaults", schema=None) as batch_op:
        batch_op.drop_index("uq_member_defaults_active", sqlite_where=_ACTIVE, postgresql_where=_ACTIVE)
        batch_op.drop_index(batch_op.f("ix_member_defaults_member_id_id"))
    op.drop_table("member_defaults")
