"""Advances taken on an open cycle's receivables are paid when the cycle commits, or lapse (with why)

Revision ID: 0013_scheduled_advances
Revises: 0012_financing
Create Date: 2027-02-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_scheduled_advances"
down_revision = "0012_financing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("receivable_advances") as t:
        t.add_column(sa.Column("lapsed", sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("receivable_advances") as t:
        t.drop_column("lapsed")
