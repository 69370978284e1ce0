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

from clearing.adapters.chain.client import ContractClient, TxResult, _nonces_for
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

    def _latest(self, s: Session, cycle_id: int | None, kind: str, key: str | None) -> SettlementTx | None:
        q = select(SettlementTx).where(SettlementTx.kind == kind).order_by(SettlementTx.id.desc())
        q = q.where(SettlementTx.cycle_id == cycle_id) if cycle_id is not None else q
        if key is not None:
            q = q.where(SettlementTx.payload["key"].as_string() == key)
        return s.scalars(q.limit(1)).first()

    def call(self, client: ContractClient, fn_name: str, args: tuple[Any, ...], *, kind: str,
             done: Callable[[], bool], cycle_id: int | None = None, key: str | None = None,
             payload: dict[str, Any] | None = None) -> Sent:
        """Make ``fn_name(*args)`` happen exactly once; ``done()`` reads the chain."""
        for attempt in range(3):
            with UnitOfWork.from_factory(self.sessions) as uow:
                row = self._latest(uow.session, cycle_id, kind, key)
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
                    _nonces_for(client.chain).reset(sender.address)
                    signed = client.sign(fn_name, *args)
                    row = SettlementTx(
                        cycle_id=cycle_id, kind=kind, payload={**(payload or {}), "key": key},
                        nonce=None, tx_hash="0x" + bytes(signed.hash).hex(),
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
                    self._mark(row_id, TxState.FAILED, str(exc))
                    raise
            self._mark(row_id, TxState.SENT)
            self._crash("sent")
            try:
                result: TxResult = client.wait(tx_hash, timeout=self.receipt_timeout)
            except ChainReverted as exc:
                if done():
                    self._mark(row_id, TxState.MINED, f"reverted but effect on chain: {exc.message}")
                    return Sent(tx_hash, None, reconciled=True)
                self._mark(row_id, TxState.FAILED, exc.message)
                raise
            except ChainError as exc:  # not mined: dropped or replaced
                log.warning("transaction %s not mined (%s); attempt %d", tx_hash, exc, attempt + 1)
                self._mark(row_id, TxState.FAILED, str(exc))
                continue
            self._mark(row_id, TxState.MINED, block=result.block)
            return Sent(tx_hash, result.block, reconciled=False)
        raise ChainError(f"{kind} for cycle {cycle_id} did not get mined after 3 attempts")

    def _mark(self, row_id: int, state: str, error: str | None = None, block: int | None = None) -> None:
        with UnitOfWork.from_factory(self.sessions) as uow:
            row = uow.session.get(SettlementTx, row_id)
            assert row is not None
            row.state = state
            if error is not None:
                row.error = error[:2000]
            if block is not None:
                row.block = block
            uow.commit()
