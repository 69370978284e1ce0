"""API key lifecycle: rotation overlap (expires_at), last use, and a change log other processes poll

Revision ID: 0003_api_key_lifecycle
Revises: 0003_ledger_binding
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from clearing.adapters.db import types as ctypes

revision = "0003_api_key_lifecycle"
down_revision = "0003_ledger_binding"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", ctypes.UtcDateTime(), nullable=True))
        batch_op.add_column(sa.Column("last_used_at", ctypes.UtcDateTime(), nullable=True))
    op.create_table(
        "api_key_changes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("change", sa.String(length=16), nullable=False),
        sa.Column("at", ctypes.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["key_id"], ["api_keys.id"], name=op.f("fk_api_key_changes_key_id_api_keys")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key_changes")),
    )


def downgrade() -> None:
    op.drop_table("api_key_changes")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("last_used_at")
        batch_op.drop_column("expires_at")
