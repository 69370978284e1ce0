"""Obligation ids scoped to the submitting member; the obligation key becomes the row's identity

Obligation ids were global, so one member learned whether another had used an
id (409 vs 201) and could take ids another would use. Now an id is unique per
submitter, ``(id, submitted_by)``, and each row carries ``obligation_key``, its
key in the ledger and on chain (Merkle leaves, tier-C order ids):
``keccak256(abi.encode(address submitter, string id))`` for new rows. Rows
already recorded keep the key the chain knows them by, ``keccak256(utf8(id))``,
so roots already committed stay verifiable and funded orders keep their ids.

Holds point at the key instead of the id, and tier-C order actions in the
outbox (matched to their order by payload) gain the key too.

On SQLite the two tables are rebuilt (batch mode) in an order that keeps the
enforced foreign key satisfied at every step: holds lose their reference to
``obligations.id`` before that table is rebuilt, and get the new one after.

Revision ID: 0004_member_scoped_ids
Revises: 0003_api_key_lifecycle
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from eth_utils.crypto import keccak

revision = "0004_member_scoped_ids"
down_revision = "0003_api_key_lifecycle"
branch_labels = None
depends_on = None

#: Outbox kinds of tier-C order actions (``services.outbox.ORDER_*`` as of this revision).
ORDER_KINDS = ("order_release", "order_refund", "order_resolve", "order_claim")
_CHUNK = 1000

_obligations = sa.table("obligations", sa.column("id", sa.String()), sa.column("obligation_key", sa.String()))
_outbox = sa.table("settlement_txs", sa.column("id", sa.BigInteger()), sa.column("kind", sa.String()),
                   sa.column("payload", sa.JSON()))  # fmt: skip


def _legacy_key(obligation_id: str) -> str:
    """The key every obligation had before this revision (frozen here, not imported: it must never change)."""
    return "0x" + keccak(obligation_id.encode("utf-8")).hex()


def _backfill_obligation_keys(bind: sa.Connection) -> None:
    ids = list(bind.execute(sa.select(_obligations.c.id)).scalars())
    update = (
        sa.update(_obligations)
        .where(_obligations.c.id == sa.bindparam("oid"))
        .values(obligation_key=sa.bindparam("key"))
    )
    for start in range(0, len(ids), _CHUNK):
        bind.execute(update, [{"oid": i, "key": _legacy_key(i)} for i in ids[start : start + _CHUNK]])


def _backfill_order_actions(bind: sa.Connection) -> None:
    rows = bind.execute(sa.select(_outbox.c.id, _outbox.c.payload).where(_outbox.c.kind.in_(ORDER_KINDS))).all()
    for row_id, payload in rows:
        oid = (payload or {}).get("obligation_id")
        if oid is None or "obligation_key" in payload:
            continue
        bind.execute(
            sa.update(_outbox)
            .where(_outbox.c.id == row_id)
            .values(payload={**payload, "obligation_key": _legacy_key(str(oid))})
        )


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("obligations", schema=None) as batch_op:  # ADD COLUMN: no rebuild
        batch_op.add_column(sa.Column("obligation_key", sa.String(length=66), nullable=True))
    _backfill_obligation_keys(bind)

    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("obligation_key", sa.String(length=66), nullable=True))
    op.execute(
        "UPDATE holds SET obligation_key = "
        "(SELECT o.obligation_key FROM obligations o WHERE o.id = holds.obligation_id)"
    )
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.drop_constraint("fk_holds_obligation_id_obligations", type_="foreignkey")
        batch_op.drop_index("ix_holds_obligation_id")
        batch_op.drop_column("obligation_id")
        batch_op.alter_column("obligation_key", existing_type=sa.String(length=66), nullable=False)
        batch_op.create_index("ix_holds_obligation_key", ["obligation_key"], unique=False)

    with op.batch_alter_table("obligations", schema=None) as batch_op:
        batch_op.drop_constraint("pk_obligations", type_="primary")
        batch_op.alter_column("obligation_key", existing_type=sa.String(length=66), nullable=False)
        batch_op.create_primary_key("pk_obligations", ["obligation_key"])
        batch_op.create_unique_constraint("uq_obligations_id_submitted_by", ["id", "submitted_by"])

    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.create_foreign_key(
            "fk_holds_obligation_key_obligations", "obligations", ["obligation_key"], ["obligation_key"]
        )
    _backfill_order_actions(bind)


def downgrade() -> None:
    """Only while every id is still used by one member alone (else the old primary key cannot hold)."""
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.drop_constraint("fk_holds_obligation_key_obligations", type_="foreignkey")
        batch_op.add_column(sa.Column("obligation_id", sa.String(length=128), nullable=True))
    op.execute(
        "UPDATE holds SET obligation_id = "
        "(SELECT o.id FROM obligations o WHERE o.obligation_key = holds.obligation_key)"
    )
    with op.batch_alter_table("obligations", schema=None) as batch_op:
        batch_op.drop_constraint("uq_obligations_id_submitted_by", type_="unique")
        batch_op.drop_constraint("pk_obligations", type_="primary")
        batch_op.create_primary_key("pk_obligations", ["id"])
    with op.batch_alter_table("obligations", schema=None) as batch_op:
        batch_op.drop_column("obligation_key")
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.drop_index("ix_holds_obligation_key")
        batch_op.drop_column("obligation_key")
        batch_op.alter_column("obligation_id", existing_type=sa.String(length=128), nullable=False)
        batch_op.create_index("ix_holds_obligation_id", ["obligation_id"], unique=False)
        batch_op.create_foreign_key("fk_holds_obligation_id_obligations", "obligations", ["obligation_id"], ["id"])
