"""Merchant credit across platforms: lines a platform grants its merchants, signed grants, repayments, purchases

Revision ID: 0010_merchant_credit
Revises: 0009_defaults
Create Date: 2027-01-20
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from clearing.adapters.db import types as ctypes

revision = "0010_merchant_credit"
down_revision = "0009_defaults"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "merchant_lines",
        sa.Column("id", _ID, nullable=False),
        sa.Column("issuer_id", _ID, nullable=False),
        sa.Column("merchant", sa.String(length=128), nullable=False),
        sa.Column("signer", sa.String(length=42), nullable=False),
        sa.Column("limit", ctypes.Amount(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("nonce", ctypes.Amount(), nullable=False),
        sa.Column("created_at", ctypes.UtcDateTime(), nullable=False),
        sa.Column("updated_at", ctypes.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["issuer_id"], ["members.id"], name=op.f("fk_merchant_lines_issuer_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merchant_lines")),
        sa.UniqueConstraint("issuer_id", "merchant", name=op.f("uq_merchant_lines_issuer_id_merchant")),
    )
    op.create_table(
        "merchant_line_grants",
        sa.Column("id", _ID, nullable=False),
        sa.Column("line_id", _ID, nullable=False),
        sa.Column("nonce", ctypes.Amount(), nullable=False),
        sa.Column("signer", sa.String(length=42), nullable=False),
        sa.Column("limit", ctypes.Amount(), nullable=False),
        sa.Column("signature", sa.String(length=132), nullable=False),
        sa.Column("created_at", ctypes.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["line_id"], ["merchant_lines.id"], name=op.f("fk_merchant_line_grants_line_id_merchant_lines")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merchant_line_grants")),
        sa.UniqueConstraint("line_id", "nonce", name=op.f("uq_merchant_line_grants_line_id_nonce")),
    )
    op.create_table(
        "merchant_repayments",
        sa.Column("id", _ID, nullable=False),
        sa.Column("line_id", _ID, nullable=False),
        sa.Column("repayment_id", sa.String(length=128), nullable=False),
        sa.Column("amount", ctypes.Amount(), nullable=False),
        sa.Column("reference", sa.String(length=256), nullable=False),
        sa.Column("created_at", ctypes.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["line_id"], ["merchant_lines.id"], name=op.f("fk_merchant_repayments_line_id_merchant_lines")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merchant_repayments")),
        sa.UniqueConstraint("line_id", "repayment_id", name=op.f("uq_merchant_repayments_line_id_repayment_id")),
    )
    with op.batch_alter_table("merchant_repayments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_merchant_repayments_line_id_created_at"), ["line_id", "created_at"], unique=False
        )
    op.create_table(
        "merchant_purchases",
        sa.Column("obligation_key", sa.String(length=66), nullable=False),
        sa.Column("line_id", _ID, nullable=False),
        sa.Column("signature", sa.String(length=132), nullable=False),
        sa.ForeignKeyConstraint(
            ["line_id"], ["merchant_lines.id"], name=op.f("fk_merchant_purchases_line_id_merchant_lines")
        ),
        sa.ForeignKeyConstraint(
            ["obligation_key"],
            ["obligations.obligation_key"],
            name=op.f("fk_merchant_purchases_obligation_key_obligations"),
        ),
        sa.PrimaryKeyConstraint("obligation_key", name=op.f("pk_merchant_purchases")),
    )
    with op.batch_alter_table("merchant_purchases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_merchant_purchases_line_id"), ["line_id"], unique=False)
    with op.batch_alter_table("obligations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_obligations_debtor_id_on_behalf_of"), ["debtor_id", "on_behalf_of"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("obligations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_obligations_debtor_id_on_behalf_of"))
    with op.batch_alter_table("merchant_purchases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_merchant_purchases_line_id"))
    op.drop_table("merchant_purchases")
    with op.batch_alter_table("merchant_repayments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_merchant_repayments_line_id_created_at"))
    op.drop_table("merchant_repayments")
    op.drop_table("merchant_line_grants")
    op.drop_table("merchant_lines")
