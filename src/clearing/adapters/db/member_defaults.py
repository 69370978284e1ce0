"""The ``member_defaults`` table: every default declared, what the waterfall covered, and its cure.

A module of its own (same ``Base`` as ``models.py``; registered by ``adapters/db/__init__.py``). One
row per declaration; at most one row per member is not cured (a partial unique index, whatever two
requests race). The waterfall's numbers come from the chain's events (``services/default_events.py``,
run by chain sync): nothing here is computed by the service, so an auditor compares them with the log.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, func, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from clearing.adapters.db.models import Base, BigId
from clearing.adapters.db.types import Amount, UtcDateTime

__all__ = ["STEP_NAMES", "MemberDefault", "active_defaults", "declared_counts"]

#: The waterfall's steps by ``IClearingHouse.WaterfallStep`` value, as rows and JSON name them.
STEP_NAMES = {1: "collateral", 2: "pledged_assets", 3: "receivables", 4: "pool_lenders"}

_ACTIVE = text("cured_at IS NULL")


class MemberDefault(Base):
    """A member declared in default: why, by whom, its loss and each waterfall step, and its cure."""

    __tablename__ = "member_defaults"
    __table_args__ = (
        Index(None, "member_id", "id"),
        Index("uq_member_defaults_active", "member_id", unique=True, sqlite_where=_ACTIVE, postgresql_where=_ACTIVE),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    declared_at: Mapped[datetime] = mapped_column(UtcDateTime)
    reason: Mapped[str] = mapped_column(String(1024))
    #: repayment_deadline, cycle_debit or operator.
    trigger: Mapped[str] = mapped_column(String(32))
    #: The operator principal as the audit log names it, or ``system`` for the scan.
    declared_by: Mapped[str] = mapped_column(String(128))
    #: The balance the chain declared it with (``MemberDefaulted``); the ledger's mirror until that is seen.
    balance_at_declaration: Mapped[int] = mapped_column(Amount)
    #: Committed cycles whose pending credit to the member step 3 may take, named at declaration.
    cycle_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    #: Step name (``STEP_NAMES``) → what it covered (decimal strings), summed over the allocations on chain.
    steps: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: The loss the allocation started from (its debt then); None until an allocation is seen on chain.
    loss: Mapped[int | None] = mapped_column(Amount)
    #: What the lenders absorbed (step 4, ``PoolWrittenDown``); None until allocated.
    written_down: Mapped[int | None] = mapped_column(Amount)
    #: What later credits to the member paid back to the lenders (``DefaultRecovered``).
    recovered: Mapped[int] = mapped_column(Amount, default=0)
    allocated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    cured_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    cured_by: Mapped[str | None] = mapped_column(String(128))
    cure_reason: Mapped[str | None] = mapped_column(String(1024))
    #: The outbox rows of ``declareDefault``, ``allocateDefaultLoss`` and ``cureDefault``.
    declare_outbox_id: Mapped[int | None] = mapped_column(BigInteger)
    allocate_outbox_id: Mapped[int | None] = mapped_column(BigInteger)
    cure_outbox_id: Mapped[int | None] = mapped_column(BigInteger)
    #: The transactions whose events the row was filled from (``MemberDefaulted``, the allocation, ``DefaultCured``).
    declare_tx: Mapped[str | None] = mapped_column(String(66))
    allocate_tx: Mapped[str | None] = mapped_column(String(66))
    cure_tx: Mapped[str | None] = mapped_column(String(66))


def active_defaults(s: Session, member_ids: Collection[int] | None = None) -> dict[int, MemberDefault]:
    """Member id → its default not cured (members in default only)."""
    q = select(MemberDefault).where(MemberDefault.cured_at.is_(None))
    if member_ids is not None:
        q = q.where(MemberDefault.member_id.in_(list(member_ids)))
    return {d.member_id: d for d in s.scalars(q)}


def declared_counts(s: Session, member_ids: Collection[int] | None, *, as_of: datetime) -> dict[int, int]:
    """Member id → defaults declared by ``as_of`` (cured ones too: a default stays on the record)."""
    q = select(MemberDefault.member_id, func.count()).where(MemberDefault.declared_at <= as_of)
    if member_ids is not None:
        q = q.where(MemberDefault.member_id.in_(list(member_ids)))
    return {int(m): int(n) for m, n in s.execute(q.group_by(MemberDefault.member_id))}
