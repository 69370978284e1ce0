"""How the chain writer sends one outbox row: signed, broadcast, replaced if it stalls, mined once.

:meth:`TxSender.send` makes a row's contract call happen at most once, from
whatever state the row is in (a crash may leave it anywhere):

1. Under the row's lock: a mined row is done; an effect already on chain
   (``done()`` reads it) marks the row mined; a stored transaction is
   resumed; otherwise the call is signed at this process's next nonce and
   its raw bytes, hash, nonce, gas and fees are stored (committed) before
   anything is broadcast. ``payload["hashes"]`` lists every transaction
   signed for that nonce.
2. Broadcast. A node that already holds it is fine. A refusal for the nonce
   ("nonce too low", "replacement transaction underpriced", ...) with none
   of the row's transactions mined or pending means another sender took the
   nonce (``clearing dev fund``, a deploy script, a second process on the
   key): the row is signed anew, the counter resynced from the chain (its
   pending count), and the send retried with exponential backoff (tenacity).
3. Wait for a receipt under every hash of the row. Unmined after
   ``replace_after`` seconds: if a transaction that is not ours spent the
   nonce, sign anew as in 2; otherwise replace it at the same nonce and gas
   with fees at least 12.5% higher (and at least the market's), stored
   before broadcast. Whichever of the row's transactions is mined completes
   the row, once.
4. Not mined within ``receipt_timeout``: the row stays ``sent`` with its
   transactions, and the writer's next pass goes on watching it.

A revert leaves the row ``planned`` with the error for a later attempt, or
``failed`` (``fail_on_revert``: an operator action a revert refuses for
good); either way ``payload["reverts"]`` counts it, so a process waiting for
the row can answer the revert.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from clearing.adapters.chain.client import ContractClient
from clearing.adapters.db.models import SettlementTx
from clearing.adapters.db.uow import UnitOfWork
from clearing.domain.vocabulary import TxState
from clearing.errors import ChainError, ChainReverted, ClearingError, NotFound

log = logging.getLogger(__name__)

#: Test hook: called with a stage name ("signed", "sent", "replace") to simulate a crash there.
CrashHook = Callable[[str], None]
#: Reads the chain: is the effect of this row already there?
Done = Callable[[], bool]

#: A replacement's fees over the replaced one's, as a fraction: +12.5% (nodes ask for +10% at least).
BUMP_NUMERATOR, BUMP_DENOMINATOR = 9, 8
#: How nodes say they already hold this very transaction.
_IN_POOL = ("already known", "known transaction", "already imported")
#: How nodes refuse a transaction for its nonce (too low, spent, or held by another pending transaction).
_NONCE = ("nonce", "underpriced")
#: Row payload keys that describe the row's current transaction (dropped when it is signed anew).
_TX_KEYS = ("hashes", "gas", "fees", "sent_at")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Sent:
    """What sending a row came to."""

    tx_hash: str | None
    block: int | None
    #: The effect was found on chain without (re)sending.
    reconciled: bool


@dataclass(frozen=True, slots=True)
class WriterPolicy:
    """Timings of the chain writer (``WriterSettings``, in seconds)."""

    #: One send waits this long for a receipt; then the row stays ``sent`` for the next pass.
    receipt_timeout: float = 60.0
    #: A transaction unmined this long is replaced (same nonce, higher fees).
    replace_after: float = 30.0
    #: Sends in a row whose nonce another sender took, before the pass gives the row up.
    nonce_attempts: int = 8
    #: How long a request waits for the writer (another process) to mine its row.
    wait_seconds: float = 60.0
    #: Between looks at a row someone else sends, and between passes of the writer.
    poll_seconds: float = 0.2
    #: Between receipt polls while a transaction is pending.
    receipt_poll: float = 0.05


class NonceTaken(ChainError):
    """The row's nonce went to another transaction; it was signed anew (retried, never answered)."""

    code = "nonce-taken"


class NoncesTaken(ChainError):
    """Another sender took the row's nonce on every attempt of one send; the row stays queued."""

    code = "nonces-taken"


@dataclass(frozen=True, slots=True)
class _Tx:
    """The row's current transaction, as stored."""

    raw: str
    tx_hash: str
    nonce: int | None
    gas: int | None
    fees: dict[str, int]
    hashes: tuple[str, ...]
    sent_at: float | None


def bump_fees(old: dict[str, int], market: dict[str, int]) -> dict[str, int]:
    """A replacement's fees: each at least 12.5% over the replaced one (rounded up) and at least the market's.

    >>> bump_fees({"maxFeePerGas": 100, "maxPriorityFeePerGas": 8}, {"maxFeePerGas": 90, "maxPriorityFeePerGas": 20})
    {'maxFeePerGas': 113, 'maxPriorityFeePerGas': 20}
    >>> bump_fees({"gasPrice": 80}, {"gasPrice": 10})
    {'gasPrice': 90}
    """
    out = {k: max(-(-v * BUMP_NUMERATOR // BUMP_DENOMINATOR), market.get(k, 0)) for k, v in old.items()}
    if "maxFeePerGas" in out:  # the cap covers the tip
        out["maxFeePerGas"] = max(out["maxFeePerGas"], out.get("maxPriorityFeePerGas", 0))
    return out


def update_tx(
    sessions: sessionmaker[Session],
    row_id: int,
    *,
    state: str | None = None,
    error: str | None = None,
    block: int | None = None,
    tx_hash: str | None = None,
    payload: dict[str, Any] | None = None,
) -> None:
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


class TxSender:
    """Sends rows for one process; the caller holds the process's send lock (one row at a time)."""

    def __init__(
        self, sessions: sessionmaker[Session], *, policy: WriterPolicy, crash_hook: CrashHook | None = None
    ) -> None:
        self.sessions = sessions
        self.policy = policy
        self.crash_hook = crash_hook

    def send(
        self,
        row_id: int,
        client: ContractClient,
        fn_name: str,
        args: Sequence[Any],
        *,
        done: Done,
        what: str,
        fail_on_revert: bool = False,
    ) -> Sent:
        """Make ``fn_name(*args)`` of row ``row_id`` happen once; raises ChainReverted, or ChainError when the
        node cannot take it now (the row is left for the next attempt)."""

        def note(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            log.warning("%s: %s; nonce resynced from the chain, signing anew (try %d)", what, exc, state.attempt_number)

        retrying = Retrying(
            retry=retry_if_exception_type(NonceTaken),
            stop=stop_after_attempt(self.policy.nonce_attempts),
            wait=wait_random_exponential(multiplier=0.05, max=2.0),
            before_sleep=note,
            reraise=True,
        )
        try:
            return retrying(self._attempt, row_id, client, fn_name, tuple(args), done, what, fail_on_revert)
        except NonceTaken as exc:
            raise NoncesTaken(
                f"{what}: its nonce was taken by other transactions {self.policy.nonce_attempts} times in a row "
                f"({exc.message}); it stays queued for the chain writer's next pass"
            ) from exc

    # ------------------------------------------------------------------ one attempt
    def _attempt(
        self,
        row_id: int,
        client: ContractClient,
        fn_name: str,
        args: tuple[Any, ...],
        done: Done,
        what: str,
        fail: bool,
    ) -> Sent:
        ready = self._prepare(row_id, client, fn_name, args, done, fail)
        if isinstance(ready, Sent):
            return ready
        self._crash("signed")
        sent = self._broadcast(row_id, client, ready, done, fail)
        if sent is not None:
            return sent
        if ready.sent_at is None:
            ready = replace(ready, sent_at=time.time())
        update_tx(self.sessions, row_id, state=TxState.SENT, payload={"sent_at": ready.sent_at})
        self._crash("sent")
        return self._await_receipt(row_id, client, fn_name, args, ready, done, what, fail)

    def _prepare(
        self, row_id: int, client: ContractClient, fn_name: str, args: tuple[Any, ...], done: Done, fail: bool
    ) -> Sent | _Tx:
        """The row's outcome if it needs no transaction, else its transaction (signed and stored first).

        The row is locked while it is read and signed, so two processes sending it at once sign one
        transaction between them.
        """
        with UnitOfWork.from_factory(self.sessions) as uow:
            row = uow.session.get(SettlementTx, row_id, with_for_update=True)
            if row is None:
                raise NotFound(f"no outbox row {row_id}", field="outbox_id")
            if row.state == TxState.MINED:
                return Sent(row.tx_hash, row.block, reconciled=False)
            if self._read(done):
                row.state = TxState.MINED
                row.error = "effect found on chain"
                row.payload = {**(row.payload or {}), "reconciled": True}
                sent = Sent(row.tx_hash, row.block, reconciled=True)
                uow.commit()
                return sent
            if row.raw_tx is not None and row.tx_hash is not None:
                return _stored(row)
            try:
                signed = self._read(client.sign_call, fn_name, *args)
            except ChainError as exc:  # nothing was signed (the node predicts a revert, or no signer)
                _record_failure(row, f"not sent: {exc}", exc if isinstance(exc, ChainReverted) else None, fail)
                uow.commit()
                raise
            tx = _Tx(signed.raw, signed.tx_hash, signed.nonce, signed.gas, signed.fees, (signed.tx_hash,), None)
            row.raw_tx, row.tx_hash, row.nonce, row.state = tx.raw, tx.tx_hash, tx.nonce, TxState.PLANNED
            row.payload = {**(row.payload or {}), "hashes": list(tx.hashes), "gas": tx.gas, "fees": tx.fees}
            try:
                uow.commit()
            except BaseException:  # never sent: its nonce is free again, so the counter must not skip it
                _resync(client)
                raise
            return tx

    def _broadcast(self, row_id: int, client: ContractClient, tx: _Tx, done: Done, fail: bool) -> Sent | None:
        """Send the stored bytes; None when the node holds them now (or already did)."""
        try:
            client.broadcast(bytes.fromhex(tx.raw.removeprefix("0x")), wait=False)
            return None
        except ChainReverted as exc:
            return self._reverted(row_id, client, tx.tx_hash, exc, done, fail)
        except ChainError as exc:
            message = str(exc).lower()
            if any(s in message for s in _IN_POOL):
                return None
            sent = self._mined(row_id, client, tx, done, fail)
            if sent is not None:
                return sent
            if any(self._read(client.known, h) for h in tx.hashes):  # pending: one of ours holds the nonce
                return None
            if any(s in message for s in _NONCE):
                self._replan(client, row_id, f"{tx.tx_hash} can no longer be mined: {exc}")
                raise NonceTaken(f"{tx.tx_hash} refused for its nonce {tx.nonce}: {exc}") from None
            self._replan(client, row_id, f"{tx.tx_hash} refused by the node: {exc}")
            raise

    def _await_receipt(
        self,
        row_id: int,
        client: ContractClient,
        fn_name: str,
        args: tuple[Any, ...],
        tx: _Tx,
        done: Done,
        what: str,
        fail: bool,
    ) -> Sent:
        deadline = time.monotonic() + self.policy.receipt_timeout
        while True:
            sent = self._mined(row_id, client, tx, done, fail)
            if sent is not None:
                return sent
            if time.time() - (tx.sent_at or 0.0) >= self.policy.replace_after:
                step = self._replace(row_id, client, fn_name, args, tx, done, what, fail)
                if isinstance(step, Sent):
                    return step
                tx = step
            if time.monotonic() >= deadline:
                raise ChainError(
                    f"{what}: transaction {tx.tx_hash} not mined within {self.policy.receipt_timeout:g} s; "
                    "the chain writer keeps watching it and replaces it with higher fees while it stays unmined"
                )
            time.sleep(self.policy.receipt_poll)

    def _replace(
        self,
        row_id: int,
        client: ContractClient,
        fn_name: str,
        args: tuple[Any, ...],
        tx: _Tx,
        done: Done,
        what: str,
        fail: bool,
    ) -> Sent | _Tx:
        """The row's transaction stalled: sign anew if its nonce went to another transaction, else replace it
        at the same nonce with higher fees (stored before broadcast); the transaction to wait for next."""
        if tx.nonce is None or tx.gas is None or not tx.fees:  # stored by an earlier version: only watched
            if any(self._read(client.known, h) for h in tx.hashes):
                return replace(tx, sent_at=time.time())
            self._replan(client, row_id, f"{tx.tx_hash} can no longer be mined: the node lost it")
            raise NonceTaken(f"{tx.tx_hash} was lost by the node")
        sender = client.default_sender.address if client.default_sender else ""
        spent = self._read(client.chain.mined_nonce, sender) > tx.nonce
        sent = self._mined(row_id, client, tx, done, fail)  # read after the nonce: a receipt now is ours
        if sent is not None:
            return sent
        if spent:
            if self._read(done):
                update_tx(self.sessions, row_id, state=TxState.MINED, error="effect found on chain")
                return Sent(tx.tx_hash, None, reconciled=True)
            self._replan(client, row_id, f"{tx.tx_hash} can no longer be mined: nonce {tx.nonce} was spent elsewhere")
            raise NonceTaken(f"nonce {tx.nonce} of {tx.tx_hash} was spent by another transaction")
        fees = bump_fees(tx.fees, self._read(client.chain.market_fees, "gasPrice" in tx.fees))
        self._crash("replace")
        try:
            signed = self._read(client.sign_call, fn_name, *args, nonce=tx.nonce, gas=tx.gas, fees=fees)
        except ChainError as exc:
            log.warning("%s: could not sign a replacement of %s (%s); waiting on", what, tx.tx_hash, exc)
            return replace(tx, sent_at=time.time())
        new = _Tx(signed.raw, signed.tx_hash, tx.nonce, tx.gas, fees, (*tx.hashes, signed.tx_hash), time.time())
        with UnitOfWork.from_factory(self.sessions) as uow:
            row = uow.session.get(SettlementTx, row_id, with_for_update=True)
            if row is None or row.state == TxState.MINED:
                return Sent(row.tx_hash if row else None, row.block if row else None, reconciled=False)
            row.raw_tx, row.tx_hash = new.raw, new.tx_hash
            row.payload = {**(row.payload or {}), "hashes": list(new.hashes), "fees": fees, "sent_at": new.sent_at}
            uow.commit()
        log.warning(
            "%s: %s unmined for %.0f s; replaced by %s (nonce %d, fees %s)",
            what,
            tx.tx_hash,
            time.time() - (tx.sent_at or 0.0),
            new.tx_hash,
            tx.nonce,
            fees,
        )
        try:
            client.broadcast(bytes.fromhex(new.raw.removeprefix("0x")), wait=False)
        except ChainError as exc:  # e.g. the first was mined meanwhile: the next receipt poll sees it
            log.warning("%s: replacement %s not taken (%s); waiting under every hash", what, new.tx_hash, exc)
        return new

    # ------------------------------------------------------------------ outcomes
    def _mined(self, row_id: int, client: ContractClient, tx: _Tx, done: Done, fail: bool) -> Sent | None:
        """The row completed by whichever of its transactions is mined (once), or None."""
        for h in tx.hashes:
            try:
                result = self._read(client.receipt, h)
            except ChainReverted as exc:
                return self._reverted(row_id, client, h, exc, done, fail)
            if result is None:
                continue
            with UnitOfWork.from_factory(self.sessions) as uow:
                row = uow.session.get(SettlementTx, row_id, with_for_update=True)
                if row is not None and row.state != TxState.MINED:
                    row.state, row.tx_hash, row.block = TxState.MINED, h, result.block
                    if h != tx.hashes[0]:
                        row.error = f"mined as replacement {h} of {tx.hashes[0]}"
                    uow.commit()
            return Sent(h, result.block, reconciled=False)
        return None

    def _reverted(
        self, row_id: int, client: ContractClient, tx_hash: str, exc: ChainReverted, done: Done, fail: bool
    ) -> Sent:
        if self._read(done):  # e.g. a second transaction for an effect the first already had
            update_tx(self.sessions, row_id, state=TxState.MINED, error=f"reverted but effect on chain: {exc.message}")
            return Sent(tx_hash, None, reconciled=True)
        self._replan(client, row_id, f"{tx_hash} reverted: {exc.message}", revert=exc, fail=fail)
        raise exc

    def _replan(
        self,
        client: ContractClient,
        row_id: int,
        error: str,
        *,
        revert: ChainReverted | None = None,
        fail: bool = False,
    ) -> None:
        """The row's transaction will not be mined: forget it, so the next attempt signs anew, and resync
        the nonce counter from the chain (the lost nonce may be free again, or taken)."""
        with UnitOfWork.from_factory(self.sessions) as uow:
            row = uow.session.get(SettlementTx, row_id, with_for_update=True)
            if row is not None and row.state != TxState.MINED:
                row.raw_tx = row.tx_hash = row.nonce = None
                row.payload = {k: v for k, v in (row.payload or {}).items() if k not in _TX_KEYS}
                _record_failure(row, error, revert, fail)
                uow.commit()
        _resync(client)

    def _read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """A call to the node; one it fails (unreachable, or refusing) is a ChainError (the row keeps its state)."""
        try:
            return fn(*args, **kwargs)
        except ClearingError:
            raise
        except Exception as exc:
            raise ChainError(f"the chain node failed: {exc}") from exc

    def _crash(self, stage: str) -> None:
        if self.crash_hook:
            self.crash_hook(stage)


def _stored(row: SettlementTx) -> _Tx:
    p = row.payload or {}
    assert row.raw_tx is not None and row.tx_hash is not None
    hashes = tuple(p.get("hashes") or (row.tx_hash,))
    return _Tx(
        raw=row.raw_tx,
        tx_hash=row.tx_hash,
        nonce=row.nonce,
        gas=p.get("gas"),
        fees={k: int(v) for k, v in (p.get("fees") or {}).items()},
        hashes=hashes if row.tx_hash in hashes else (*hashes, row.tx_hash),
        sent_at=p.get("sent_at"),
    )


def _record_failure(row: SettlementTx, error: str, revert: ChainReverted | None, fail: bool) -> None:
    """The row's error; a revert is counted (waiting processes answer it) and fails an action for good."""
    row.error = error[:2000]
    row.state = TxState.FAILED if revert is not None and fail else TxState.PLANNED
    if revert is not None:
        p = row.payload or {}
        row.payload = {
            **p,
            "reverts": int(p.get("reverts", 0)) + 1,
            "revert": {"message": revert.message[:500], "error": revert.error},
        }


def _resync(client: ContractClient) -> None:
    """Read the signer's next nonce from the chain again (its pending transaction count)."""
    if client.default_sender is not None:
        client.chain.nonces.reset(client.default_sender.address)
