"""Receivable advances: each creditor's request, its price, and what the chain repaid or took back

Revision ID: 0012_financing
Revises: 0009_defaults
Create Date: 2027-02-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from clearing.adapters.db import types as ctypes

revision = "0012_financing"
down_revision = "0011_pledges"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "receivable_advances",
        sa.Column("id", _ID, nullable=False),
        sa.Column("member_id", _ID, nullable=False),
        sa.Column("cycle_id", _ID, nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=False),
        sa.Column("requested_at", ctypes.UtcDateTime(), nullable=False),
        sa.Column("receivable", ctypes.Amount(), nullable=False),
        sa.Column("debtor_tier", sa.String(length=1), nullable=False),
        sa.Column("days", sa.BigInteger(), nullable=False),
        sa.Column("haircut_bps", sa.BigInteger(), nullable=False),
        sa.Column("rate_bps", sa.BigInteger(), nullable=False),
        sa.Column("principal", ctypes.Amount(), nullable=False),
        sa.Column("fee", ctypes.Amount(), nullable=False),
        sa.Column("outbox_id", sa.BigInteger(), nullable=True),
        sa.Column("advance_tx", sa.String(length=66), nullable=True),
        sa.Column("advanced_at", ctypes.UtcDateTime(), nullable=True),
        sa.Column("repaid_principal", ctypes.Amount(), nullable=False),
        sa.Column("repaid_fee", ctypes.Amount(), nullable=False),
        sa.Column("recourse_principal", ctypes.Amount(), nullable=False),
        sa.Column("recourse_fee", ctypes.Amount(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_receivable_advances_member_id_members")),
        sa.ForeignKeyConstraint(["cycle_id"], ["cycles.id"], name=op.f("fk_receivable_advances_cycle_id_cycles")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receivable_advances")),
        sa.UniqueConstraint("member_id", "request_id", name=op.f("uq_receivable_advances_member_id_request_id")),
    )
    with op.batch_alter_table("receivable_advances", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_receivable_advances_cycle_id_member_id"), ["cycle_id", "member_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("receivable_advances", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_receivable_advances_cycle_id_member_id"))
    op.drop_table("receivable_advances")
