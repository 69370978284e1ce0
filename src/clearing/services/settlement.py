"""Chain calls through the outbox: persisted before they are sent, safe to repeat.

A transaction is signed locally, so its hash is known before broadcast. The
signed bytes and hash are committed to ``settlement_txs`` first; then the
transaction is sent; then its receipt is recorded. After a crash at any
point, running the same call again finds the outbox row and either sees the
effect already on chain, re-sends the identical bytes, or (if the node lost
it and its nonce was reused) signs anew. The contract itself refuses a
second commit of a cycle id, so nothing can settle twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from clearing.adapters.chain.client import ContractClient, TxResult
from clearing.adapters.db.models import SettlementTx, TxState
from clearing.adapters.db.uow import UnitOfWork
from clearing.errors import ChainError, ChainReverted

log = logging.getLogger(__name__)

#: Test hook: called with a stage name ("signed", "sent") to simulate a crash there.
CrashHook = Callable[[str], None]


@dataclass(frozen=True)
class Sent:
    tx_hash: str | None
    block: int | None
    reconciled: bool  # the effect was found on chain without (re)sending


class Outbox:
    def __init__(self, sessions: sessionmaker[Session], *, receipt_timeout: float = 60.0,
                 crash_hook: CrashHook | None = None) -> None:
        self.sessions = sessions
        self.receipt_timeout = receipt_timeout
        self.crash_hook = crash_hook

    def _crash(self, stage: str) -> None:
        if self.crash_hook:
            self.crash_hook(stage)

    def _latest(self, s: Session, cycle_id: int, kind: str) -> SettlementTx | None:
        q = (select(SettlementTx).where(SettlementTx.kind == kind, SettlementTx.cycle_id == cycle_id)
             .order_by(SettlementTx.id.desc()).limit(1))
        return s.scalars(q).first()

    def call(self, client: ContractClient, fn_name: str, args: tuple[Any, ...], *, kind: str,
             done: Callable[[], bool], cycle_id: int) -> Sent:
        """Make ``fn_name(*args)`` happen exactly once; ``done()`` reads the chain."""
        for attempt in range(3):
            with UnitOfWork.from_factory(self.sessions) as uow:
                row = self._latest(uow.session, cycle_id, kind)
                if row is not None and row.state == TxState.MINED:
                    return Sent(row.tx_hash, row.block, reconciled=False)
                if done():
                    if row is not None:
                        row.state = TxState.MINED
                        row.error = "effect found on chain"
                        uow.commit()
                    return Sent(row.tx_hash if row else None, row.block if row else None, reconciled=True)
                if row is None or row.state == TxState.FAILED:
                    sender = client.default_sender
                    assert sender is not None
                    client.chain.nonces.reset(sender.address)
                    signed = client.sign(fn_name, *args)
                    row = SettlementTx(
                        cycle_id=cycle_id, kind=kind, payload={}, nonce=None,
                        tx_hash="0x" + bytes(signed.hash).hex(),
                        raw_tx="0x" + bytes(signed.raw_transaction).hex(), state=TxState.PLANNED,
                    )
                    uow.session.add(row)
                    uow.commit()
                row_id, raw, tx_hash = row.id, row.raw_tx, row.tx_hash
            self._crash("signed")
            try:
                client.broadcast(bytes.fromhex(raw.removeprefix("0x")), wait=False)
            except ChainError as exc:
                # Re-sending the identical bytes after a crash is expected to be refused.
                if not any(s in str(exc).lower() for s in ("already known", "nonce too low", "known transaction")):
                    update_tx(self.sessions, row_id, state=TxState.FAILED, error=str(exc))
                    raise
            update_tx(self.sessions, row_id, state=TxState.SENT)
            self._crash("sent")
            try:
                result: TxResult = client.wait(tx_hash, timeout=self.receipt_timeout)
            except ChainReverted as exc:
                if done():
                    update_tx(self.sessions, row_id, state=TxState.MINED,
                              error=f"reverted but effect on chain: {exc.message}")
                    return Sent(tx_hash, None, reconciled=True)
                update_tx(self.sessions, row_id, state=TxState.FAILED, error=exc.message)
                raise
            except ChainError as exc:  # not mined: dropped or replaced
                log.warning("transaction %s not mined (%s); attempt %d", tx_hash, exc, attempt + 1)
                update_tx(self.sessions, row_id, state=TxState.FAILED, error=str(exc))
                continue
            update_tx(self.sessions, row_id, state=TxState.MINED, block=result.block)
            return Sent(tx_hash, result.block, reconciled=False)
        raise ChainError(f"{kind} for cycle {cycle_id} did not get mined after 3 attempts")


def update_tx(sessions: sessionmaker[Session], row_id: int, *, state: str | None = None, error: str | None = None,
              block: int | None = None, tx_hash: str | None = None, payload: dict[str, Any] | None = None) -> None:
    """Record what happened to one outbox row, in its own transaction (payload keys are merged)."""
    with UnitOfWork.from_factory(sessions) as uow:
        row = uow.session.get(SettlementTx, row_id)
        if row is None:
            return
        if state is not None:
            row.state = state
        if error is not None:
            row.error = error[:2000]
        if block is not None:
            row.block = block
        if tx_hash is not None:
            row.tx_hash = tx_hash
        if payload:
            row.payload = {**(row.payload or {}), **payload}
        uow.commit()
