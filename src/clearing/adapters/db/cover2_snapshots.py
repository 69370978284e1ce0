"""Cover 2 snapshots: each computation of the house's Cover 2, kept as history (never updated).

A module of its own (same ``Base`` as ``models.py``, registered by ``clearing.adapters.db``) so
``models.py`` stays one file a reader can hold. The newest row (highest id) is the one shown to the
operator and read by the ``cover2_uncovered`` alert. Amounts are :class:`~clearing.adapters.db.types.Amount`
(exact on SQLite and PostgreSQL); inside ``members`` they are decimal strings, as everywhere in JSON.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from clearing.adapters.db.models import Base, BigId, utcnow
from clearing.adapters.db.types import Amount, UtcDateTime
from clearing.domain.cover2 import Cover2, MemberExposure

__all__ = ["Cover2Snapshot", "latest_snapshot"]


class Cover2Snapshot(Base):
    """One Cover 2: the two largest exposures, their joint loss and the pool's resources at that moment."""

    __tablename__ = "cover2_snapshots"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    #: The cycle whose settlement triggered it; NULL when an operator asked (or it was first read).
    cycle_id: Mapped[int | None] = mapped_column(ForeignKey("cycles.id"))
    #: What ran it: ``cycle``, ``manual`` (``POST /cover2/run``), ``scheduled`` (with the alerts) or ``first_read``.
    trigger: Mapped[str] = mapped_column(String(16))
    #: Σ of the two largest exposures.
    loss: Mapped[int] = mapped_column(Amount)
    #: The pool's equity (``poolTotal`` on chain).
    resources: Mapped[int] = mapped_column(Amount)
    covered: Mapped[bool] = mapped_column(Boolean)
    #: resources × 10 000 // loss; NULL when loss is 0. Unbounded (a tiny loss), hence an Amount.
    coverage_bps: Mapped[int | None] = mapped_column(Amount)
    #: The (at most) two members, largest first: [{"member", "drawn", "in_flight_net_debit", "collateral",
    #: "exposure"}], amounts as decimal strings.
    members: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    def result(self) -> Cover2:
        """The snapshot as the domain's :class:`~clearing.domain.cover2.Cover2` (what the alert rule reads)."""
        return Cover2(
            members=tuple(
                MemberExposure(m["member"], int(m["drawn"]), int(m["in_flight_net_debit"]), int(m["collateral"]))
                for m in self.members or []
            ),
            loss=self.loss,
            resources=self.resources,
            covered=self.covered,
            coverage_bps=self.coverage_bps,
        )


def latest_snapshot(session: Session) -> Cover2Snapshot | None:
    """The newest Cover 2 stored, or None."""
    return session.scalars(select(Cover2Snapshot).order_by(Cover2Snapshot.id.desc()).limit(1)).first()
