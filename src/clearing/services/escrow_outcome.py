"""What an escrow came to once it closed: a cycle the operator released, or a tier-C order.

Whoever empties an escrow (the operator through the API, a creditor's
``claim`` after the claim delay, a dispute ruling), chain sync sees it close
and records the outcome here, in the caller's unit of work: the obligations
leave their reservations as ``settled``, or ``refunded`` when nothing of the
escrow reached the creditors. This module imports no other service, so chain
sync and the services that send the calls can both use it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from clearing.adapters.chain.escrow_client import OrderState
from clearing.adapters.db import reservations
from clearing.adapters.db.models import ChainEvent, Cycle, CycleTransition, Member, Obligation
from clearing.domain.vocabulary import CycleState, Route
from clearing.domain.vocabulary import ObligationStatus as S
from clearing.services.webhooks.events import publish_cycle

log = logging.getLogger(__name__)

#: ``cycles.detail["release"]`` of a cycle committed into escrow for the operator to release.
OPERATOR_RELEASE = "operator"
#: ``OrderState.status`` of a closed order (IOrderEscrow.OrderStatus.CLOSED).
ORDER_CLOSED = 3


def operator_released(cycle: Cycle) -> bool:
    """Whether the operator releases this cycle (committed into escrow, never released automatically)."""
    return (cycle.detail or {}).get("release") == OPERATOR_RELEASE


def order_id(obligation: Obligation) -> bytes:
    """The on-chain order id of a tier-C obligation: its ``obligation_key``, the key a Merkle leaf would use.

    ``keccak256(abi.encode(address submitter, string id))``, or ``keccak256(utf8(id))`` for obligations
    recorded before ids were scoped to their submitter (``clearing.domain.merkle``). The one place
    funding, actions and chain sync read it from.
    """
    return bytes.fromhex(obligation.obligation_key.removeprefix("0x"))


def escrow_totals(s: Session, cycle_id: int) -> tuple[int, int]:
    """(released, refunded) out of a cycle's escrow so far, from the indexed ``CycleReleased``/``CycleRefunded``."""
    released = refunded = 0
    rows = s.execute(
        select(ChainEvent.event, ChainEvent.args).where(
            ChainEvent.event.in_(("CycleReleased", "CycleRefunded")),
            ChainEvent.args["cycleId"].as_string() == str(cycle_id),
        )
    ).all()
    for name, args in rows:
        if name == "CycleReleased":
            released += int(args["released"])
        else:
            refunded += int(args["refunded"])
    return released, refunded


def finish_cycle(s: Session, cycle_id: int, *, tx_hash: str | None = None) -> bool:
    """Record that an operator-released cycle's escrow is empty; False if there is nothing to record.

    Call it once the chain shows the cycle SETTLED and its events are
    indexed. Final state: SETTLED (PARTIAL when some obligations were
    carried) if anything reached creditors or nothing was escrowed, REFUNDED
    if everything went back to debtors.
    """
    # Look before locking: chain sync calls this for every CycleSettled, and most are cycles the cycle
    # service settles itself, which hold their members' rows and then update the cycle's (a lock taken
    # here first would deadlock with them).
    cycle = s.get(Cycle, cycle_id)
    if cycle is None or cycle.state != CycleState.COMMITTED or not operator_released(cycle):
        return False
    s.refresh(cycle, with_for_update=True)
    if cycle.state != CycleState.COMMITTED:
        return False
    released, refunded = escrow_totals(s, cycle_id)
    refunded_all = refunded > 0 and released == 0
    new_status = S.REFUNDED if refunded_all else S.SETTLED
    reservations.transition_cycle(s, cycle_id, (S.NETTED, S.COMMITTED), new_status)
    detail = cycle.detail or {}
    if refunded_all:
        final = CycleState.REFUNDED
    else:
        final = CycleState.PARTIAL if int(detail.get("carried", 0)) else CycleState.SETTLED
    cycle.detail = {**detail, "released": str(released), "refunded": str(refunded)}
    if tx_hash is not None:
        cycle.release_tx_hash = tx_hash
    s.add(
        CycleTransition(
            cycle_id=cycle_id,
            from_state=cycle.state,
            to_state=final,
            detail={"released": str(released), "refunded": str(refunded), "tx_hash": tx_hash},
        )
    )
    cycle.state = final
    publish_cycle(s, cycle)
    return True


def close_orders(s: Session, closed: Iterable[str], read_order: Callable[[bytes], OrderState]) -> int:
    """Tier-C obligations whose order escrow closed leave their reservation; returns how many.

    ``closed`` holds the 0x-hex ids of orders that emitted ``OrderClosed``.
    An order counts for an obligation only if it is that obligation's order:
    same debtor, creditor and amount (anyone can fund any order id, and a
    debtor paying a different order must not look settled). The outcome is
    ``settled`` if anything reached the creditor, else ``refunded``.
    """
    wanted = sorted({c.lower() for c in closed})
    if not wanted:
        return 0
    open_rows = s.scalars(
        select(Obligation).where(
            Obligation.route == Route.ESCROW, Obligation.status == S.ESCROW, Obligation.obligation_key.in_(wanted)
        )
    )
    hits = [(o, order_id(o)) for o in open_rows]
    if not hits:
        return 0
    addresses = dict(
        s.execute(
            select(Member.id, Member.address).where(
                Member.id.in_({o.debtor_id for o, _ in hits} | {o.creditor_id for o, _ in hits})
            )
        ).all()
    )
    settled: list[str] = []
    refunded: list[str] = []
    for o, oid in hits:
        state = read_order(oid)
        if (state.debtor, state.creditor, state.amount) != (addresses[o.debtor_id], addresses[o.creditor_id], o.amount):
            log.warning("order %s closed but does not match obligation %r: left in escrow", oid.hex(), o.id)
            continue
        if state.status == ORDER_CLOSED:
            (settled if state.released > 0 else refunded).append(o.obligation_key)
    reservations.transition(s, settled, S.SETTLED)
    reservations.transition(s, refunded, S.REFUNDED)
    return len(settled) + len(refunded)
