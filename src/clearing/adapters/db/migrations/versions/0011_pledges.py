"""Pledged digital assets: the vault's collections and positions, and each member's pledged collateral value

Revision ID: 0011_pledges
Revises: 0009_defaults
Create Date: 2027-01-20
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from clearing.adapters.db import types as ctypes

revision = "0011_pledges"
down_revision = "0010_merchant_credit"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chain_pledge_value", ctypes.Amount(), server_default="0", nullable=False))
    op.create_table(
        "pledge_collections",
        sa.Column("id", _ID, nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("standard", sa.String(length=8), nullable=True),
        sa.Column("unit_value", ctypes.Amount(), nullable=False),
        sa.Column("ltv_bps", sa.Integer(), nullable=False),
        sa.Column("max_age_seconds", sa.BigInteger(), nullable=False),
        sa.Column("valued_at", sa.BigInteger(), nullable=False),
        sa.Column("block", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pledge_collections")),
        sa.UniqueConstraint("address", name=op.f("uq_pledge_collections_address")),
    )
    op.create_table(
        "pledge_positions",
        sa.Column("id", _ID, nullable=False),
        sa.Column("member_id", _ID, nullable=False),
        sa.Column("collection", sa.String(length=42), nullable=False),
        sa.Column("token_id", ctypes.Amount(), nullable=False),
        sa.Column("amount", ctypes.Amount(), nullable=False),
        sa.Column("standard", sa.String(length=8), nullable=True),
        sa.Column("block", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_pledge_positions_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pledge_positions")),
        sa.UniqueConstraint(
            "member_id", "collection", "token_id", name=op.f("uq_pledge_positions_member_id_collection_token_id")
        ),
    )
    with op.batch_alter_table("pledge_positions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pledge_positions_member_id"), ["member_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("pledge_positions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pledge_positions_member_id"))
    op.drop_table("pledge_positions")
    op.drop_table("pledge_collections")
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_column("chain_pledge_value")
