"""What a default's chain events say, written onto its ``member_defaults`` row (run by chain sync).

Chain sync indexes every event once (unique tx hash and log index) and hands the default events it
just indexed to :func:`record`, in its own transaction, so each event counts once:

- ``MemberDefaulted``: the balance the chain declared the member with, and the transaction;
- ``DefaultLossAllocated``: what each waterfall step covered (summed over allocations, should one be
  repeated), the loss the allocation started from (its step 1 amount plus what remained after it),
  and at step 4 the write-down (0 when the earlier steps covered everything) and the transaction;
- ``DefaultRecovered``: what later credits to the member paid back to the lenders;
- ``DefaultCured``: the cure's transaction.

Events go to the member's newest row that still waits for them (a member defaulted twice has a
row per default). Events of a member with no row (declared on chain without the service) are left
for the audit to report (``services/default_audit.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from clearing.adapters.chain.client import Event
from clearing.adapters.db.member_defaults import STEP_NAMES, MemberDefault
from clearing.adapters.db.models import Member

#: The events this module reads.
EVENTS = ("MemberDefaulted", "DefaultLossAllocated", "DefaultRecovered", "DefaultCured")


def record(s: Session, events: Sequence[Event], block_time: Callable[[int], datetime]) -> int:
    """Apply the default events just indexed (in log order) to their rows; how many events were applied.

    ``block_time`` gives a block's timestamp (when an allocation happened on chain).
    """
    mine = [e for e in events if e.name in EVENTS]
    if not mine:
        return 0
    addresses = {str(e.args["member"]) for e in mine}
    ids = dict(s.execute(select(Member.address, Member.id).where(Member.address.in_(addresses))).all())
    applied = 0
    for e in mine:
        member_id = ids.get(str(e.args["member"]))
        row = _row_for(s, member_id, e.name) if member_id is not None else None
        if row is None:
            continue
        _apply(row, e, block_time)
        applied += 1
    return applied


def _row_for(s: Session, member_id: int, event: str) -> MemberDefault | None:
    """The member's newest row that waits for ``event`` (else its newest row)."""
    rows = list(
        s.scalars(select(MemberDefault).where(MemberDefault.member_id == member_id).order_by(MemberDefault.id.desc()))
    )
    if event == "MemberDefaulted":
        waiting = [r for r in rows if r.declare_tx is None]
    elif event == "DefaultCured":
        waiting = [r for r in rows if r.cured_at is not None and r.cure_tx is None]
    else:
        waiting = [r for r in rows if r.declare_tx is not None]
    found = waiting or rows
    return found[0] if found else None


def _apply(row: MemberDefault, e: Event, block_time: Callable[[int], datetime]) -> None:
    a = e.args
    if e.name == "MemberDefaulted":
        row.balance_at_declaration, row.declare_tx = int(a["balance"]), e.tx_hash
    elif e.name == "DefaultLossAllocated":
        step, amount = int(a["step"]), int(a["amount"])
        name = STEP_NAMES.get(step, str(step))
        steps = dict(row.steps or {})
        steps[name] = str(int(steps.get(name, 0)) + amount)
        row.steps = steps
        if step == 1:
            row.loss = (row.loss or 0) + amount + int(a["remainingLoss"])
        if step == 4:
            row.written_down = (row.written_down or 0) + amount
            row.allocated_at, row.allocate_tx = block_time(e.block), e.tx_hash
    elif e.name == "DefaultRecovered":
        row.recovered = (row.recovered or 0) + int(a["amount"])
    elif e.name == "DefaultCured":
        row.cure_tx = e.tx_hash
