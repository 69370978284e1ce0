"""Plain data shared by the pure core.

>>> o = Obligation("ord-1", "alpha", "beta", 120_00)
>>> o.amount, o.priority
(12000, False)
>>> Obligation("ord-1", "alpha", "beta", 120_00) == o
True
"""

from __future__ import annotations

from dataclasses import dataclass

#: Largest amount a ``uint256`` holds; every amount in the core is below this.
UINT256_MAX = 2**256 - 1


@dataclass(frozen=True, slots=True)
class Obligation:
    """``debtor`` owes ``creditor`` ``amount`` smallest token units.

    ``id`` is chosen by the client and unique within a batch. A sequence of
    obligations is in FIFO order: the first one submitted comes first.
    ``priority`` marks an obligation that settles before the debtor's
    non-priority ones (see :mod:`clearing.domain.liquidity`).

    The dataclass does not validate itself; every function that takes
    obligations validates them first (:func:`clearing.domain.netting.validate_obligations`), so a
    bad one is reported with the function's specific error.
    """

    id: str
    debtor: str
    creditor: str
    amount: int
    priority: bool = False
