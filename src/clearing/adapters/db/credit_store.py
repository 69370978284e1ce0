"""The live credit service's own reads and locks: collateral posted, limits planned on chain, rescoring's lock.

The score's inputs are not read here: they come from
:func:`clearing.adapters.db.credit_inputs.gather_credit_inputs`, the one reading of the ledger.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from clearing.adapters.db.models import ChainEvent, SettlementTx
from clearing.domain.vocabulary import TxState


def posted_collateral(s: Session, addresses: Sequence[str] | None = None) -> dict[str, int]:
    """Collateral each member address has posted: its ``Deposited`` less its ``Withdrawn`` amounts (indexed
    events; amounts are decimal strings in the JSON, summed here). Trading does not change it."""
    wanted = None if addresses is None else set(addresses)
    out: dict[str, int] = defaultdict(int)
    q = select(ChainEvent.event, ChainEvent.args).where(ChainEvent.event.in_(("Deposited", "Withdrawn")))
    for event, args in s.execute(q):
        member = str((args or {}).get("member", ""))
        if wanted is not None and member not in wanted:
            continue
        amount = int((args or {}).get("amount", 0))
        out[member] += amount if event == "Deposited" else -amount
    return dict(out)


def planned_limits(s: Session, member_ids: Sequence[int] | None = None) -> dict[int, int]:
    """The credit limit each member's newest ``set_credit_limit`` outbox row sets (failed rows left out)."""
    newest = (
        select(func.max(SettlementTx.id))
        .where(SettlementTx.kind == "set_credit_limit", SettlementTx.state != TxState.FAILED)
        .group_by(SettlementTx.member_id)
    )
    if member_ids is not None:
        newest = newest.where(SettlementTx.member_id.in_(list(member_ids)))
    q = select(SettlementTx.member_id, SettlementTx.amount).where(SettlementTx.id.in_(newest.scalar_subquery()))
    return {mid: int(amount or 0) for mid, amount in s.execute(q) if mid is not None}


#: Advisory lock key of rescoring (PostgreSQL): one rescoring transaction at a time across processes.
_RESCORE_LOCK = 0x63726564  # "cred"


def lock_rescoring(s: Session) -> None:
    """Serialise rescoring transactions: two at once would both record the same drawing of credit.

    PostgreSQL: a transaction-scoped advisory lock. SQLite: writing transactions already begin
    IMMEDIATE (``adapters/db/engine.py``), so they run one at a time.
    """
    conn = s.connection()
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (_RESCORE_LOCK,))
