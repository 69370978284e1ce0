"""What a receivable advance's chain events say, written onto its ``receivable_advances`` row (run by chain sync).

Chain sync indexes every event once (unique tx hash and log index) and hands the financing events it just
indexed to :func:`record`, in its own transaction, so each counts once:

- ``ReceivableAdvanced``: the transaction and its block's time; the principal and fee the chain recorded
  (the audit compares them with the row's price);
- ``AdvanceRepaid``: what a release or claim of the credit repaid the pool, principal then fee;
- ``AdvanceRecourse``: what a refund's cancellation charged the creditor's balance instead.

Events go to the (cycle, creditor)'s row that waits for them: the one not yet advanced for
``ReceivableAdvanced``, else the advanced one. Events with no row (an advance sent without the service) are
left for the audit to report (``services/financing_audit.py``). Each event is also published to the member
as a webhook: ``financing.advanced``, ``financing.repaid`` (when nothing is owed any more) and
``financing.recourse``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from clearing.adapters.chain.client import Event
from clearing.adapters.db.advances import ReceivableAdvance
from clearing.adapters.db.models import Member
from clearing.domain.vocabulary import EventType
from clearing.services.webhooks.events import publish_member_event

#: The events this module reads.
EVENTS = ("ReceivableAdvanced", "AdvanceRepaid", "AdvanceRecourse")


def record(s: Session, events: Sequence[Event], block_time: Callable[[int], datetime]) -> int:
    """Apply the financing events just indexed (in log order) to their rows; how many were applied."""
    mine = [e for e in events if e.name in EVENTS]
    if not mine:
        return 0
    addresses = {str(e.args["creditor"]) for e in mine}
    members = {a: (i, n) for a, i, n in s.execute(select(Member.address, Member.id, Member.name)) if a in addresses}
    applied = 0
    for e in mine:
        found = members.get(str(e.args["creditor"]))
        if found is None:
            continue
        row = _row_for(s, found[0], int(e.args["cycleId"]), e.name)
        if row is None:
            continue
        _apply(s, row, e, block_time, found[1])
        applied += 1
    return applied


def _row_for(s: Session, member_id: int, cycle_id: int, event: str) -> ReceivableAdvance | None:
    rows = s.scalars(
        select(ReceivableAdvance)
        .where(ReceivableAdvance.member_id == member_id, ReceivableAdvance.cycle_id == cycle_id)
        .order_by(ReceivableAdvance.id)
    ).all()
    if event == "ReceivableAdvanced":
        return next((r for r in rows if r.advance_tx is None), None)
    return next((r for r in rows if r.advance_tx is not None), None)


def _apply(s: Session, row: ReceivableAdvance, e: Event, block_time: Callable[[int], datetime], member: str) -> None:
    a = e.args
    principal, fee = int(a["principal"]), int(a["fee"])
    data = {"advance": row.id, "id": row.request_id, "cycle_id": row.cycle_id, "tx_hash": e.tx_hash}
    if e.name == "ReceivableAdvanced":
        row.advance_tx, row.advanced_at = e.tx_hash, block_time(e.block)
        row.principal, row.fee = principal, fee  # what the chain assigned is what is owed
        publish_member_event(
            s, EventType.FINANCING_ADVANCED, member, {**data, "principal": str(principal), "fee": str(fee)}
        )
        return
    if e.name == "AdvanceRepaid":
        row.repaid_principal += principal
        row.repaid_fee += fee
        if int(a["owedLeft"]) == 0:
            publish_member_event(s, EventType.FINANCING_REPAID, member, {**data, "owed": "0"})
        return
    row.recourse_principal += principal
    row.recourse_fee += fee
    charged = {"principal": str(principal), "fee": str(fee), "balance": str(int(a["balance"]))}
    publish_member_event(s, EventType.FINANCING_RECOURSE, member, {**data, **charged})
