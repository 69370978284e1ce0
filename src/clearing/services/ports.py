"""Ports: what the services need from the chain adapter and the cycle service.

The ledger records every chain call in the ``settlement_txs`` outbox *before*
anything is sent (state ``planned``), in the same transaction as the change
that needs it. After that transaction commits, the service hands the row to a
:class:`ChainOperations` implementation, which signs, stores the raw tx and
hash on the row, broadcasts and tracks it. If the process dies in between,
the row is still ``planned`` and ``pending_outbox()`` finds it on restart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

# Outbox kinds written by this package's services (the cycle service adds its own).
WITHDRAW = "withdraw"
SET_CREDIT_LIMIT = "set_credit_limit"
REGISTER_MEMBER = "register_member"


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One planned chain call (a ``settlement_txs`` row), as plain data."""

    id: int
    kind: str
    member: str | None
    member_address: str | None
    amount: int | None
    cycle_id: int | None = None
    payload: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class ChainOperations(Protocol):
    """Implemented by the chain adapter. Called after the ledger commit.

    ``dispatch`` must be idempotent per ``item.id``: it may be called again
    for the same row after a crash or a retry. It updates the row itself
    (nonce, raw_tx, tx_hash, state sent/mined/failed) in its own transactions.
    Raising is allowed: the row stays ``planned`` and the API still answers
    202 with the outbox id, because the ledger already holds the request.
    """

    def dispatch(self, item: OutboxItem) -> None: ...


class NullChainOperations:
    """Leaves planned rows for a worker (or the lead's chain sync) to send."""

    def dispatch(self, item: OutboxItem) -> None:  # noqa: D401 - protocol method
        return None


class RecordingChainOperations:
    """Test double that remembers what it was asked to send."""

    def __init__(self) -> None:
        self.items: list[OutboxItem] = []

    def dispatch(self, item: OutboxItem) -> None:
        self.items.append(item)
