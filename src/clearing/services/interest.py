"""What a member pays for the credit it draws: the rate now, interest owed and charged so far.

A member whose balance is below zero has drawn that much credit from the
pool and pays interest on it at the pool's borrow rate (base + slope ×
utilisation, ``domain/pool_shares.py``). The contract charges the interest
to the member's balance (rounded up, against the borrower) whenever its
balance is touched or anyone calls ``accrueInterest`` (the house's keeper,
``services/pool_keeper.py``); between two charges it accrues. Both are read
here: what is accrued now from the chain, what was charged so far from the
``InterestCharged`` events chain sync mirrors into the ledger.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select

from clearing.adapters.db.models import ChainEvent, Member
from clearing.domain.pool_shares import BPS
from clearing.errors import ChainError, NotFound
from clearing.services.context import ServiceContext

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BorrowerCost:
    #: The pool's annual borrow rate now, in basis points.
    borrow_rate_bps: int
    #: Credit drawn now: max(0, −balance) on chain.
    drawn: int
    #: Interest accrued since the last charge, not yet in the balance (``interestOwedOf``).
    interest_owed_now: int
    #: Σ interest charged to the balance so far (``InterestCharged`` events mirrored by chain sync).
    interest_charged_total: int
    #: What a year at today's rate on today's drawn credit costs: drawn × rate / 10000, rounded down.
    annual_cost_now: int


def charged_total(ctx: ServiceContext, address: str) -> int:
    """Σ ``InterestCharged`` amounts for ``address`` in the ledger's mirror of chain events."""
    with ctx.uow(read_only=True) as uow:
        amounts = uow.session.scalars(
            select(ChainEvent.args["amount"].as_string()).where(
                ChainEvent.event == "InterestCharged", ChainEvent.args["member"].as_string() == address
            )
        )
        return sum(int(a) for a in amounts)


def cost_of(ctx: ServiceContext, member_id: int) -> BorrowerCost | None:
    """The member's cost of credit; None when the house has no chain, or the chain cannot be read now
    (the rest of a member's view comes from the ledger and stays available)."""
    if ctx.contracts is None:
        return None
    with ctx.uow(read_only=True) as uow:
        m = uow.session.get(Member, member_id)
        if m is None:
            raise NotFound("member not found", field="member")
        address = m.address
    house = ctx.contracts.house
    try:
        rate, state, owed = house.borrow_rate_bps(), house.member(address), house.interest_owed_of(address)
    except ChainError as exc:
        log.warning("borrower cost of member %s not read: %s", member_id, exc.message)
        return None
    drawn = max(0, -state.balance)
    return BorrowerCost(
        borrow_rate_bps=rate,
        drawn=drawn,
        interest_owed_now=owed,
        interest_charged_total=charged_total(ctx, address),
        annual_cost_now=drawn * rate // BPS,
    )
