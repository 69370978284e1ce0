"""The ``receivable_advances`` table: every advance a creditor asked for, its price, and what the chain did.

A module of its own (same ``Base`` as ``models.py``; registered by ``adapters/db/__init__.py``). One row
per request (unique per member and client request id). The price (receivable, tier, days, haircut, rate,
principal, fee) is the service's, fixed when the row is planned; what happened on chain afterwards (the
advance mined, each repayment at release, each recourse at a refund) comes from the chain's events
(``services/financing_events.py``, run by chain sync), so an auditor compares it with the log.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from clearing.adapters.db.models import Base, BigId
from clearing.adapters.db.types import Amount, UtcDateTime

__all__ = ["ReceivableAdvance"]


class ReceivableAdvance(Base):
    """A creditor's advance on its pending credit in a committed cycle, or on its receivables in the open one."""

    __tablename__ = "receivable_advances"
    __table_args__ = (UniqueConstraint("member_id", "request_id"), Index(None, "cycle_id", "member_id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: The creditor.
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"))
    #: The member's own request id (its idempotency key).
    request_id: Mapped[str] = mapped_column(String(128))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime)
    #: The credit priced: the creditor's pending credit in the cycle when it asked.
    receivable: Mapped[int] = mapped_column(Amount)
    debtor_tier: Mapped[str] = mapped_column(String(1))
    days: Mapped[int] = mapped_column(BigInteger)
    haircut_bps: Mapped[int] = mapped_column(BigInteger)
    rate_bps: Mapped[int] = mapped_column(BigInteger)
    #: Paid to the creditor now; ``principal + fee`` of its credit is assigned to the pool.
    principal: Mapped[int] = mapped_column(Amount)
    fee: Mapped[int] = mapped_column(Amount)
    #: The chain call; None while an advance taken on an open cycle waits for the cycle's commit.
    outbox_id: Mapped[int | None] = mapped_column(BigInteger)
    #: Why an advance taken on an open cycle was never paid (the cycle aborted, settled in one step, or
    #: its credit no longer backed an advance when it committed).
    lapsed: Mapped[str | None] = mapped_column(String(300))
    #: From ``ReceivableAdvanced``: the transaction and when (None until seen on chain).
    advance_tx: Mapped[str | None] = mapped_column(String(66))
    advanced_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: Σ ``AdvanceRepaid`` (releases and claims of the credit repaid the pool first).
    repaid_principal: Mapped[int] = mapped_column(Amount, default=0)
    repaid_fee: Mapped[int] = mapped_column(Amount, default=0)
    #: Σ ``AdvanceRecourse`` (a refund left too little credit: the creditor's balance was charged).
    recourse_principal: Mapped[int] = mapped_column(Amount, default=0)
    recourse_fee: Mapped[int] = mapped_column(Amount, default=0)

    @property
    def owed(self) -> int:
        """What the advance still owes the pool, by the events seen (0 before it was advanced)."""
        if self.advance_tx is None:
            return 0
        paid = self.repaid_principal + self.repaid_fee + self.recourse_principal + self.recourse_fee
        return self.principal + self.fee - paid
