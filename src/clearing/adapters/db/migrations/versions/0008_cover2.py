"""Cover 2 snapshots: the two largest exposures against the pool, after every cycle and on request

Revision ID: 0008_cover2
Revises: 0007_alerts
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from clearing.adapters.db import types as ctypes

revision = "0008_cover2"
down_revision = "0007_alerts"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "cover2_snapshots",
        sa.Column("id", _ID, nullable=False),
        sa.Column("computed_at", ctypes.UtcDateTime(), nullable=False),
        sa.Column("cycle_id", _ID, nullable=True),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("loss", ctypes.Amount(), nullable=False),
        sa.Column("resources", ctypes.Amount(), nullable=False),
        sa.Column("covered", sa.Boolean(), nullable=False),
        sa.Column("coverage_bps", ctypes.Amount(), nullable=True),
        sa.Column("members", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["cycle_id"], ["cycles.id"], name=op.f("fk_cover2_snapshots_cycle_id_cycles")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cover2_snapshots")),
    )


def downgrade() -> None:
    op.drop_table("cover2_snapshots")
