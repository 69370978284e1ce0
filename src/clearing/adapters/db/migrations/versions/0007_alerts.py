"""Alerts (one not-resolved alert per member, kind and key) and members' own alert thresholds

Revision ID: 0007_alerts
Revises: 0004_credit_history
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from clearing.adapters.db import types as ctypes

revision = "0007_alerts"
down_revision = "0006_forecasts"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_ACTIVE = sa.text("state != 'resolved'")


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", _ID, nullable=False),
        sa.Column("member_id", _ID, nullable=True),
        sa.Column("scope_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("dedup_key", sa.String(length=128), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("message", sa.String(length=512), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("opened_at", ctypes.UtcDateTime(), nullable=False),
        sa.Column("updated_at", ctypes.UtcDateTime(), nullable=False),
        sa.Column("acknowledged_at", ctypes.UtcDateTime(), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=128), nullable=True),
        sa.Column("resolved_at", ctypes.UtcDateTime(), nullable=True),
        sa.Column("resolved_by", sa.String(length=128), nullable=True),
        sa.Column("resolve_reason", sa.String(length=1024), nullable=True),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_alerts_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alerts_member_id_state"), ["member_id", "state"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_state_id"), ["state", "id"], unique=False)
        batch_op.create_index(
            "uq_alerts_active",
            ["scope_id", "kind", "dedup_key"],
            unique=True,
            sqlite_where=_ACTIVE,
            postgresql_where=_ACTIVE,
        )

    op.create_table(
        "alert_overrides",
        sa.Column("member_id", _ID, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=1024), nullable=False),
        sa.Column("set_by", sa.String(length=128), nullable=False),
        sa.Column("set_at", ctypes.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_alert_overrides_member_id_members")),
        sa.PrimaryKeyConstraint("member_id", "kind", name=op.f("pk_alert_overrides")),
    )


def downgrade() -> None:
    op.drop_table("alert_overrides")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("uq_alerts_active", sqlite_where=_ACTIVE, postgresql_where=_ACTIVE)
        batch_op.drop_index(batch_op.f("ix_alerts_state_id"))
        batch_op.drop_index(batch_op.f("ix_alerts_member_id_state"))
    op.drop_table("alerts")
