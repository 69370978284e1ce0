"""A receivable advance's chain call, as an outbox row: its kind, and how it sees its effect on chain.

``services/financing.py`` plans the row (``advanceReceivable(cycleId, creditor, principal, fee)`` as its
``fn`` and ``args``) and sends exactly it (``Outbox.call(row_id=...)``: a revert fails the row and the
request is refused); the chain writer's pass sends any left planned (``outbox.resolve``, through the pool's
kinds in ``pool_calls.py``: an advance is pool money). ``done()`` is the chain holding an advance on that
(cycle, creditor). Once a release repaid it in full the chain shows (0, 0) again, but by then the row holds
its signed transaction, which the sender resumes (the receipt is found) instead of signing anew, and the
contract refuses a second advance while one is owed.
"""

from __future__ import annotations

from collections.abc import Sequence

from clearing.adapters.chain.client import ClearingHouseClient
from clearing.services.tx_sender import Done

ADVANCE_RECEIVABLE = "advance_receivable"
#: The outbox kinds of receivables financing.
FINANCING_KINDS = (ADVANCE_RECEIVABLE,)


def advance_done(house: ClearingHouseClient, args: Sequence[object]) -> Done:
    """Whether the chain holds an advance on the row's (cycle, creditor)."""
    cycle_id, creditor = int(str(args[0])), str(args[1])
    return lambda: house.advance_of(cycle_id, creditor) != (0, 0)
