"""The data of the events the house publishes itself, each in the transaction of its change.

Amounts are decimal strings. Obligation events go to both parties; cycle events go to each member
with its own position (``operator=False``) and once to the operator with every position.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from clearing.adapters.db.models import Cycle, CyclePosition, Hold, Member, Obligation
from clearing.domain.vocabulary import CycleState, EventType, HoldStatus
from clearing.domain.vocabulary import ObligationStatus as S
from clearing.services.webhooks import subscriptions
from clearing.services.webhooks.publish import publish, publish_many


def obligation_data(
    *,
    id: str,
    obligation_key: str,
    submitter: str,
    debtor: str,
    creditor: str,
    amount: int,
    reference: str,
    status: str,
    route: str,
    shortfall: int | None,
    holds: Sequence[str] = (),
) -> dict[str, Any]:
    """An obligation event's ``data``; ``holds`` names the rules that hold it."""
    return {
        "id": id,
        "obligation_key": obligation_key,
        "submitter": submitter,
        "debtor": debtor,
        "creditor": creditor,
        "amount": str(amount),
        "reference": reference,
        "status": status,
        "route": route,
        "shortfall": None if shortfall is None else str(shortfall),
        "holds": list(holds),
    }


def submission_type(status: str) -> str:
    """``obligation.held`` for a held obligation; ``obligation.accepted`` for one the house took on
    (accepted, escrow, or queued beyond headroom: ``data.status`` says which)."""
    return EventType.OBLIGATION_HELD if status == S.HELD else EventType.OBLIGATION_ACCEPTED


def publish_obligation(session: Session, event_type: str, key: str, **extra: Any) -> None:
    """One obligation's event (released, rejected) as its row now stands; nothing is read without a subscriber."""
    if subscriptions.current(session).empty:
        return
    o = session.get(Obligation, key, populate_existing=True)  # statuses move by SQL (reservations.transition)
    if o is None:
        return
    names = dict(
        session.execute(
            select(Member.id, Member.name).where(Member.id.in_({o.debtor_id, o.creditor_id, o.submitted_by}))
        ).all()
    )
    rules = session.scalars(
        select(Hold.rule).where(Hold.obligation_key == o.obligation_key, Hold.status == HoldStatus.OPEN)
    ).all()
    data = obligation_data(
        id=o.id,
        obligation_key=o.obligation_key,
        submitter=names[o.submitted_by],
        debtor=names[o.debtor_id],
        creditor=names[o.creditor_id],
        amount=o.amount,
        reference=o.reference,
        status=o.status,
        route=o.route,
        shortfall=o.shortfall,
        holds=rules,
    )
    publish(session, event_type, {**data, **extra}, members=[names[o.debtor_id], names[o.creditor_id]])


def publish_cycle(session: Session, cycle: Cycle) -> None:
    """``cycle.settled`` or ``cycle.partial`` for a cycle that just ended so: each member gets its own
    position, the operator every position."""
    if cycle.state not in (CycleState.SETTLED, CycleState.PARTIAL) or subscriptions.current(session).empty:
        return
    event_type = EventType.CYCLE_PARTIAL if cycle.state == CycleState.PARTIAL else EventType.CYCLE_SETTLED
    rows = session.execute(
        select(Member.name, CyclePosition.net_delta, CyclePosition.carried)
        .join(Member, Member.id == CyclePosition.member_id)
        .where(CyclePosition.cycle_id == cycle.id)
        .order_by(Member.name)
    ).all()
    common = {
        "cycle_id": cycle.id,
        "state": cycle.state,
        "root": cycle.root,
        "gross": str(cycle.gross),
        "settled_value": str(cycle.settled_value),
        "release_tx_hash": cycle.release_tx_hash,
    }
    positions = [{"member": n, "net_delta": str(d), "carried": str(c)} for n, d, c in rows]
    publish_many(session, ((event_type, {**common, "position": p}, [p["member"]]) for p in positions), operator=False)
    publish(session, event_type, {**common, "positions": positions}, members=[])


def publish_member_event(session: Session, event_type: str, member: str, data: Mapping[str, Any]) -> None:
    """An event about one member (withdrawal, credit): to it and to the operator."""
    publish(session, event_type, {"member": member, **data}, members=[member])
