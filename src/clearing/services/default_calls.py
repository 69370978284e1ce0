"""The chain calls of a default, as outbox rows: their kinds, and how each sees its effect on chain.

``services/defaults.py`` plans the rows (``declareDefault``, ``allocateDefaultLoss``, ``cureDefault``,
each with its ``fn`` and ``args``); the outbox sends them like any house row (``outbox.resolve``),
oldest first, so the allocation follows the declaration. ``done()`` reads the member on chain:

- a declaration is done when the member is in default;
- an allocation when it is in default and owes nothing any more (the waterfall brought its balance
  to zero; a member that owed nothing has nothing to allocate); while the declaration is not mined the
  allocation reverts and stays planned, so it is never taken for done before its declaration;
- a cure when the member is not in default.
"""

from __future__ import annotations

from clearing.adapters.chain.client import ClearingHouseClient
from clearing.services.tx_sender import Done

DECLARE_DEFAULT = "declare_default"
ALLOCATE_DEFAULT_LOSS = "allocate_default_loss"
CURE_DEFAULT = "cure_default"
#: The outbox kinds of a default, in the order a default and its cure send them.
DEFAULT_KINDS = (DECLARE_DEFAULT, ALLOCATE_DEFAULT_LOSS, CURE_DEFAULT)


def default_done(house: ClearingHouseClient, kind: str, address: str) -> Done:
    """Whether the chain already shows a default row's effect (see the module)."""

    def done() -> bool:
        state = house.member(address)
        if kind == DECLARE_DEFAULT:
            return bool(state.defaulted)
        if kind == ALLOCATE_DEFAULT_LOSS:
            return bool(state.defaulted) and state.balance >= 0
        return not state.defaulted

    return done
