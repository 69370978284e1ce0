"""Forecasts: the operator's event calendar, stored member and pool forecasts

Revision ID: 0006_forecasts
Revises: 0004_credit_history
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from clearing.adapters.db import types as ctypes

revision = "0006_forecasts"
down_revision = "0005_webhooks"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "calendar_events",
        sa.Column("id", _ID, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("created_at", ctypes.UtcDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_events")),
        sa.UniqueConstraint("day", "name", name=op.f("uq_calendar_events_day_name")),
    )
    with op.batch_alter_table("calendar_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_calendar_events_day"), ["day"], unique=False)

    op.create_table(
        "member_forecasts",
        sa.Column("id", _ID, nullable=False),
        sa.Column("member_id", _ID, nullable=False),
        sa.Column("computed_at", ctypes.UtcDateTime(), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("horizon", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("model_version", sa.String(length=32), nullable=False),
        sa.Column("data_version", sa.String(length=32), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("shortfall_date", sa.Date(), nullable=True),
        sa.Column("topup_amount", ctypes.Amount(), nullable=True),
        sa.Column("topup_by", sa.Date(), nullable=True),
        sa.Column("balance", ctypes.Amount(), nullable=True),
        sa.Column("days", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_member_forecasts_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_forecasts")),
    )
    with op.batch_alter_table("member_forecasts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_member_forecasts_member_id_id"), ["member_id", "id"], unique=False)

    op.create_table(
        "pool_forecasts",
        sa.Column("id", _ID, nullable=False),
        sa.Column("computed_at", ctypes.UtcDateTime(), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("horizon", sa.Integer(), nullable=False),
        sa.Column("liquidity", ctypes.Amount(), nullable=False),
        sa.Column("needed_95", ctypes.Amount(), nullable=False),
        sa.Column("idle", ctypes.Amount(), nullable=False),
        sa.Column("model_version", sa.String(length=32), nullable=False),
        sa.Column("data_version", sa.String(length=32), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("days", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pool_forecasts")),
    )


def downgrade() -> None:
    op.drop_table("pool_forecasts")
    op.drop_table("member_forecasts")
    op.drop_table("calendar_events")
