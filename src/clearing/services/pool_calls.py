"""The pool's chain calls (the keeper's, and receivable advances: ``financing_calls.py``), as outbox rows:
their kinds, and how each sees its effect on chain.

``services/pool_keeper.py`` plans the rows (``accrueInterest``, ``processWithdrawals``, each with its
``fn`` and ``args``) and sends them as operator actions are sent (``Outbox.call(row_id=...)``: once, a
revert fails the row and the keeper's next run plans anew); the chain writer's pass sends any left
planned (``outbox.resolve``). Each call does new work, so ``done()`` says done only when nothing is
left for it to do:

- charging interest is done when none of its members owes any (``interestOwedOf`` 0);
- paying the queue when no share waits, or the whole pool is drawn.

A row already signed is resumed from its stored transaction either way (``tx_sender``).
"""

from __future__ import annotations

from collections.abc import Sequence

from clearing.adapters.chain.client import ClearingHouseClient
from clearing.services.financing_calls import ADVANCE_RECEIVABLE, FINANCING_KINDS, advance_done
from clearing.services.tx_sender import Done

POOL_ACCRUE = "pool_accrue"
POOL_PROCESS = "pool_process"
#: The outbox kinds of the pool keeper, and of advances from the pool.
POOL_KINDS = (POOL_ACCRUE, POOL_PROCESS, *FINANCING_KINDS)


def accrue_done(house: ClearingHouseClient, members: Sequence[str]) -> Done:
    """Whether none of ``members`` owes interest now (charged by this row or by any other call)."""
    return lambda: all(house.interest_owed_of(m) == 0 for m in members)


def process_done(house: ClearingHouseClient) -> Done:
    """Whether there is nothing left to pay: the queue is empty or the pool fully drawn."""
    return lambda: house.queued_shares() == 0 or house.pool_total() <= house.credit_drawn()


def pool_done(house: ClearingHouseClient, kind: str, args: Sequence[object]) -> Done:
    """``done()`` of a pool row from its kind and call arguments (``accrueInterest(members)``)."""
    if kind == ADVANCE_RECEIVABLE:
        return advance_done(house, args)
    if kind == POOL_ACCRUE:
        [members] = args
        assert isinstance(members, list)
        return accrue_done(house, [str(m) for m in members])
    return process_done(house)
