"""The chain a ledger belongs to (one row), compared on every start

Revision ID: 0003_ledger_binding
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from clearing.adapters.db import types as ctypes

revision = "0003_ledger_binding"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_binding",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("genesis_hash", sa.String(length=66), nullable=False),
        sa.Column("house", sa.String(length=42), nullable=False),
        sa.Column("deployment_block", sa.BigInteger(), nullable=False),
        sa.Column("bound_at", ctypes.UtcDateTime(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_ledger_binding_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_binding")),
    )


def downgrade() -> None:
    op.drop_table("ledger_binding")
