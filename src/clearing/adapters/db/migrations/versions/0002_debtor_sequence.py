"""Per-debtor obligation sequence, so history can be fetched incrementally

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("obligation_seq", sa.BigInteger(), server_default="0", nullable=False))
    with op.batch_alter_table("obligations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("debtor_seq", sa.BigInteger(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_obligations_debtor_id_debtor_seq"), ["debtor_id", "debtor_seq"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("obligations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_obligations_debtor_id_debtor_seq"))
        batch_op.drop_column("debtor_seq")
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_column("obligation_seq")
