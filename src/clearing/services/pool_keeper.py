"""The pool's keeper: charge borrowers their interest, and pay the withdrawal queue as liquidity returns.

Interest accrues on every borrower's debt all the time, but reaches the pool
(and so the lenders' share price) only when it is charged to the borrower's
balance: the contract charges a member whenever a call touches its balance
(a cycle debit or credit, a deposit), and anyone may charge any list of
members with ``accrueInterest``. Queued withdrawals are paid, in order, by
``processWithdrawals``, which anyone may call too. Nobody else is bound to
call either, so the house does: :func:`run` plans both in the outbox (rows
``pool_accrue`` and ``pool_process``, ``services/pool_calls.py``, each sent
exactly once; a revert fails the row and the next run plans anew) and sends
them:

* ``accrueInterest`` for every member with interest owed now (the members the
  chain mirror shows below zero, asked ``interestOwedOf``), in batches of
  ``pool.accrue_batch``;
* ``processWithdrawals(pool.keeper_max_requests)`` when shares wait in the
  queue and part of the pool is undrawn.

The scheduler runs it every ``pool.keeper_seconds`` (default an hour; 0: off)
in the chain writer's process only, so N workers keep the pool once. It is
not run after each cycle: a cycle already charges every member whose balance
it moves, and liquidity comes back to the pool when members deposit from
their own wallets, at any time, not only in cycles; a schedule catches both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from clearing.adapters.db.models import Member
from clearing.errors import ServiceUnavailable
from clearing.services import outbox
from clearing.services.context import ServiceContext
from clearing.services.pool_calls import POOL_ACCRUE, POOL_PROCESS, accrue_done, process_done
from clearing.services.tx_sender import Done


@dataclass(frozen=True, slots=True)
class KeeperRun:
    #: Members charged their interest (``accrueInterest``), and the rows that did it.
    charged: tuple[str, ...]
    accrue_rows: tuple[int, ...]
    #: The ``processWithdrawals`` row, when the queue had shares waiting and liquidity was undrawn.
    process_row: int | None
    #: Why nothing was planned (e.g. "paused"), else None.
    skipped: str | None = None


class _Call(NamedTuple):
    item: outbox.OutboxItem
    fn: str
    args: tuple[Any, ...]
    done: Done


def _plan(session: Session, kind: str, fn: str, args: tuple[Any, ...], done: Done) -> _Call:
    """One keeper row in the caller's unit of work, carrying its call (so the chain writer can send it)."""
    item = outbox.plan(session, kind, payload={"fn": fn, "args": outbox.json_args(args)})
    return _Call(item, fn, args, done)


def borrowers(ctx: ServiceContext) -> list[str]:
    """Members the chain mirror shows below zero (drawing credit), by address."""
    with ctx.uow(read_only=True) as uow:
        return list(
            uow.session.scalars(select(Member.address).where(Member.chain_balance < 0).order_by(Member.address))
        )


def run(ctx: ServiceContext) -> KeeperRun:
    """Charge interest to every borrower owing some and pay the queue if it can be paid: plan, then send."""
    if ctx.contracts is None:
        raise ServiceUnavailable("the pool keeper calls the chain: this house has no chain", field=None)
    house, settings = ctx.contracts.house, ctx.settings.pool
    if house.paused():
        return KeeperRun(charged=(), accrue_rows=(), process_row=None, skipped="paused")
    owing = [m for m in borrowers(ctx) if house.interest_owed_of(m) > 0]
    batches = [owing[i : i + settings.accrue_batch] for i in range(0, len(owing), settings.accrue_batch)]
    pay_queue = house.queued_shares() > 0 and house.pool_total() > house.credit_drawn()
    calls: list[_Call] = []
    with ctx.uow() as uow:
        for batch in batches:
            calls.append(_plan(uow.session, POOL_ACCRUE, "accrueInterest", (batch,), accrue_done(house, batch)))
        if pay_queue:
            args = (settings.keeper_max_requests,)
            calls.append(_plan(uow.session, POOL_PROCESS, "processWithdrawals", args, process_done(house)))
        uow.commit()
    for call in calls:  # in order; a failure leaves the rest planned for the chain writer
        ctx.outbox.call(house, call.fn, call.args, kind=call.item.kind, done=call.done, row_id=call.item.id)
    return KeeperRun(
        charged=tuple(owing),
        accrue_rows=tuple(c.item.id for c in calls if c.item.kind == POOL_ACCRUE),
        process_row=next((c.item.id for c in calls if c.item.kind == POOL_PROCESS), None),
    )
