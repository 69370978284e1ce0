"""The outbox: every chain write of the house, recorded before it is sent and safe to repeat.

One scheme for every kind. A ``settlement_txs`` row is planned (state
``planned``) by :func:`plan`, in the same ledger transaction as the change
that needs it. After that transaction commits, sending the row
(:meth:`Outbox.dispatch` for member rows, :meth:`Outbox.call` for cycle
steps) means:

1. the row is ``mined``: nothing to do;
2. the effect is already on chain (``done()`` reads the chain: member
   admitted, credit limit equal, suspended flag equal, cycle committed,
   escrow released): mark the row mined;
3. otherwise sign locally (the hash is known before broadcast), store the
   raw transaction and its hash on the row and commit, broadcast, wait for
   the receipt, record ``mined``.

After a crash at any point, sending the row again finds it and either sees
the effect on chain, re-sends the identical bytes, or (when the node lost
them and their nonce went to another transaction) signs anew. A transaction
that reverts or is never mined leaves the row ``planned`` with the error, to
be signed anew by the next attempt. The contract keeps every effect
idempotent as well: it refuses a second admission, suspension or commit of a
cycle id, and a credit limit is a value.

Withdrawals are the member's own transaction (the house cannot move a
member's collateral for it): the row carries the call data for the member's
wallet, and chain sync completes it on the ``Withdrawn`` event
(:func:`complete_withdrawal`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from clearing.adapters.chain.client import ClearingHouseClient, ContractClient
from clearing.adapters.chain.deploy import Contracts
from clearing.adapters.db.models import Member, SettlementTx
from clearing.adapters.db.reservations import lock_members
from clearing.adapters.db.uow import UnitOfWork
from clearing.domain.vocabulary import TxState
from clearing.errors import ChainError, ChainReverted, NotFound

log = logging.getLogger(__name__)

# Kinds, as stored in ``settlement_txs.kind`` (existing ledgers hold these strings).
REGISTER_MEMBER = "register_member"
SET_CREDIT_LIMIT = "set_credit_limit"
SUSPEND_MEMBER = "suspend_member"
RESUME_MEMBER = "resume_member"
WITHDRAW = "withdraw"
COMMIT = "commit"
SETTLE = "settle"
RELEASE = "release"
# Operator actions, each keyed by the operator's own request id (services/operator_actions.py).
CYCLE_RELEASE = "cycle_release"
CYCLE_RELEASE_PRO_RATA = "cycle_release_pro_rata"
CYCLE_HOLD = "cycle_hold"
CYCLE_REFUND = "cycle_refund"
ORDER_RELEASE = "order_release"
ORDER_REFUND = "order_refund"
ORDER_RESOLVE = "order_resolve"
ORDER_CLAIM = "order_claim"

#: Member rows the house signs (the operator's key), sent by :meth:`Outbox.dispatch`.
OPERATOR_KINDS = (REGISTER_MEMBER, SET_CREDIT_LIMIT, SUSPEND_MEMBER, RESUME_MEMBER)
#: Member rows: the operator's, and withdrawals (signed by the member's own key).
MEMBER_KINDS = (*OPERATOR_KINDS, WITHDRAW)
#: Cycle steps, sent by :meth:`Outbox.call` with the arguments the cycle service computes.
CYCLE_KINDS = (COMMIT, SETTLE, RELEASE)
#: Operator actions: the caller plans the row (:func:`plan`) and sends exactly it (``Outbox.call(row_id=...)``).
ACTION_KINDS = (
    CYCLE_RELEASE,
    CYCLE_RELEASE_PRO_RATA,
    CYCLE_HOLD,
    CYCLE_REFUND,
    ORDER_RELEASE,
    ORDER_REFUND,
    ORDER_RESOLVE,
    ORDER_CLAIM,
)
KINDS = (*MEMBER_KINDS, *CYCLE_KINDS, *ACTION_KINDS)

#: Kinds that set one on-chain value of a member: only the newest row of a family is sent,
#: so an older row retried after a newer one was mined cannot undo it.
_FAMILIES: dict[str, tuple[str, ...]] = {
    SET_CREDIT_LIMIT: (SET_CREDIT_LIMIT,),
    SUSPEND_MEMBER: (SUSPEND_MEMBER, RESUME_MEMBER),
    RESUME_MEMBER: (SUSPEND_MEMBER, RESUME_MEMBER),
}

#: Signing attempts per send when a transaction is lost (never mined) before one is mined.
ATTEMPTS = 3

#: Test hook: called with a stage name ("signed", "sent") to simulate a crash there.
CrashHook = Callable[[str], None]

#: Reads the chain: is the effect of this row already there?
Done = Callable[[], bool]


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One planned chain call (a ``settlement_txs`` row), as plain data."""

    id: int
    kind: str
    state: str
    member_id: int | None
    member: str | None
    member_address: str | None
    amount: int | None
    cycle_id: int | None
    payload: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Sent:
    """What sending a row came to."""

    tx_hash: str | None
    block: int | None
    #: The effect was found on chain without (re)sending.
    reconciled: bool


# --------------------------------------------------------------------------- planning (inside a unit of work)
def plan(
    session: Session,
    kind: str,
    *,
    member_id: int | None = None,
    cycle_id: int | None = None,
    amount: int | None = None,
    payload: dict[str, Any] | None = None,
) -> OutboxItem:
    """Record one chain call in the caller's unit of work (flushed, not committed).

    Send it with :meth:`Outbox.dispatch` after the caller commits; until then,
    and if sending fails, the row stays ``planned`` for a later attempt.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown outbox kind {kind!r}")
    if kind in MEMBER_KINDS and member_id is None:
        raise ValueError(f"a {kind} row needs a member_id")
    row = SettlementTx(
        kind=kind,
        member_id=member_id,
        cycle_id=cycle_id,
        amount=amount,
        payload=dict(payload or {}),
        state=TxState.PLANNED,
    )
    session.add(row)
    session.flush()
    return _item(session, row)


def get(session: Session, row_id: int) -> OutboxItem:
    """One outbox row as plain data."""
    row = session.get(SettlementTx, row_id)
    if row is None:
        raise NotFound(f"no outbox row {row_id}", field="outbox_id")
    return _item(session, row)


def _item(s: Session, row: SettlementTx) -> OutboxItem:
    member = s.get(Member, row.member_id) if row.member_id is not None else None
    return OutboxItem(
        id=row.id,
        kind=row.kind,
        state=row.state,
        member_id=row.member_id,
        member=member.name if member else None,
        member_address=member.address if member else None,
        amount=row.amount,
        cycle_id=row.cycle_id,
        payload=dict(row.payload or {}),
        created_at=row.created_at,
    )


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


def complete_withdrawal(s: Session, outbox_id: int, *, mined: bool) -> None:
    """A withdrawal was mined (or failed): close its row and release its reservation (idempotent).

    Called by chain sync on the ``Withdrawn`` event, in the caller's unit of
    work; the balance mirror itself is refreshed from the same event.
    """
    row = s.get(SettlementTx, outbox_id)
    if row is None or row.kind != WITHDRAW or row.member_id is None:
        raise NotFound(f"no withdrawal {outbox_id}", field="outbox_id")
    if row.state in (TxState.MINED, TxState.FAILED) and row.payload.get("released"):
        return
    m = lock_members(s, [row.member_id])[row.member_id]
    m.pending_withdrawal = max(0, m.pending_withdrawal - (row.amount or 0))
    row.state = TxState.MINED if mined else TxState.FAILED
    row.payload = {**(row.payload or {}), "released": True}


# --------------------------------------------------------------------------- sending (after the commit)
class Outbox:
    """Sends planned rows. ``contracts`` is the deployment member rows go to; without it
    :meth:`dispatch` leaves them planned for a process that has the chain (its
    :meth:`resend_planned` sends them). :meth:`call` sends through the client it is given.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        contracts: Contracts | None,
        *,
        receipt_timeout: float = 60.0,
        crash_hook: CrashHook | None = None,
    ) -> None:
        self.sessions = sessions
        self.contracts = contracts
        self.receipt_timeout = receipt_timeout
        self.crash_hook = crash_hook

    # -- member rows
    def dispatch(self, items: Iterable[OutboxItem]) -> None:
        """Send rows just planned, once their ledger transaction has committed.

        Never raises: the ledger already holds the request, so a failure is
        logged and the row stays planned for :meth:`resend_planned`.
        """
        if self.contracts is None:
            return
        for item in items:
            try:
                self.send(item)
            except Exception:  # the row stays planned; start-up recovery sends it
                log.exception("chain dispatch of outbox row %s (%s) failed; left planned", item.id, item.kind)

    def send(self, item: OutboxItem) -> Sent | None:
        """Send one member row; raises on failure (the row stays planned).

        None when there is nothing for the house to send: a withdrawal (its
        call data is stored on the row for the member's wallet), or a row
        retired because a newer row sets the same value of the member.
        """
        house = self._house()
        if item.kind == WITHDRAW:
            self._store_withdraw_call(house, item)
            return None
        if item.kind not in OPERATOR_KINDS:
            raise ValueError(f"{item.kind} rows are sent by Outbox.call, not dispatch")
        if self._retired(item):
            return None
        fn_name, args, done = _member_call(house, item)
        return self._send(item.id, house, fn_name, args, done=done, what=f"{item.kind} of {item.member}")

    def resend_planned(self) -> int:
        """Start-up recovery: send every member row not yet done, oldest first; returns how many.

        Operator rows still ``planned`` or ``sent`` are sent (a crash may have
        left either), and withdrawals without call data get it. A failure is
        logged and leaves the row for the next start-up.
        """
        if self.contracts is None:
            return 0
        with UnitOfWork.from_factory(self.sessions, read_only=True) as uow:
            s = uow.session
            rows = s.scalars(
                select(SettlementTx)
                .where(SettlementTx.kind.in_(MEMBER_KINDS), SettlementTx.state.in_((TxState.PLANNED, TxState.SENT)))
                .order_by(SettlementTx.id)
            ).all()
            items = [_item(s, r) for r in rows if r.kind != WITHDRAW or "data" not in (r.payload or {})]
        self.dispatch(items)
        return len(items)

    def _house(self) -> ClearingHouseClient:
        if self.contracts is None:
            raise ChainError("this outbox has no chain: its rows stay planned")
        return self.contracts.house

    def _store_withdraw_call(self, house: ClearingHouseClient, item: OutboxItem) -> None:
        if item.member_address is None or item.amount is None:
            raise ValueError(f"withdrawal row {item.id} has no member or amount")
        data = house.encode_withdraw(item.amount, item.member_address)
        update_tx(self.sessions, item.id, payload={"to": house.address, "data": data, "signer": item.member_address})

    def _retired(self, item: OutboxItem) -> bool:
        """Whether the row is retired: failed already, or now, because a newer row of the same
        member sets the same value (that row sends it)."""
        with UnitOfWork.from_factory(self.sessions) as uow:
            s = uow.session
            row = s.get(SettlementTx, item.id, with_for_update=True)
            if row is None:
                raise NotFound(f"no outbox row {item.id}", field="outbox_id")
            if row.state == TxState.FAILED:
                return True
            family = _FAMILIES.get(item.kind)
            if family is None or row.state == TxState.MINED:
                return False
            newer = s.scalar(
                select(SettlementTx.id)
                .where(
                    SettlementTx.member_id == item.member_id, SettlementTx.kind.in_(family), SettlementTx.id > item.id
                )
                .order_by(SettlementTx.id.desc())
                .limit(1)
            )
            if newer is None:
                return False
            row.state = TxState.FAILED
            row.error = f"superseded by outbox row {newer}: only the newest {item.kind} of a member is sent"
            uow.commit()
        return True

    # -- cycle steps
    def call(
        self,
        client: ContractClient,
        fn_name: str,
        args: Sequence[Any],
        *,
        kind: str,
        done: Done,
        cycle_id: int | None = None,
        row_id: int | None = None,
    ) -> Sent:
        """Make ``fn_name(*args)`` of one cycle step happen exactly once; ``done()`` reads the chain.

        The step's row is the newest of ``kind`` for the cycle, planned here
        on the first call; calling again after any crash finishes it. An
        operator action (``ACTION_KINDS``) passes instead the ``row_id`` it
        planned with :func:`plan`, since one cycle or order may see many.
        """
        if row_id is not None:
            if kind not in ACTION_KINDS:
                raise ValueError(f"{kind} is not an operator action")
            return self._send(row_id, client, fn_name, tuple(args), done=done, what=f"{kind} (outbox row {row_id})")
        if kind not in CYCLE_KINDS or cycle_id is None:
            raise ValueError(f"{kind} is not a cycle step of a cycle")
        with UnitOfWork.from_factory(self.sessions) as uow:
            s = uow.session
            row = s.scalars(
                select(SettlementTx)
                .where(SettlementTx.kind == kind, SettlementTx.cycle_id == cycle_id)
                .order_by(SettlementTx.id.desc())
                .limit(1)
            ).first()
            if row is None or row.state == TxState.FAILED:  # failed: a row left by an earlier version
                row_id = plan(s, kind, cycle_id=cycle_id).id
                uow.commit()
            else:
                row_id = row.id
        return self._send(row_id, client, fn_name, tuple(args), done=done, what=f"{kind} of cycle {cycle_id}")

    # -- the one way a row is sent
    def _send(
        self, row_id: int, client: ContractClient, fn_name: str, args: tuple[Any, ...], *, done: Done, what: str
    ) -> Sent:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                ready = self._sign_or_finish(row_id, client, fn_name, args, done)
            except ChainError as exc:  # nothing was signed (the node predicts a revert, or no signer)
                update_tx(self.sessions, row_id, error=f"not sent: {exc}")
                raise
            if isinstance(ready, Sent):
                return ready
            raw, tx_hash = ready
            self._crash("signed")
            try:
                client.broadcast(bytes.fromhex(raw.removeprefix("0x")), wait=False)
            except ChainReverted as exc:
                return self._reverted(row_id, client, tx_hash, exc, done)
            except ChainError as exc:
                if _lost(client, tx_hash, exc):
                    self._replan(client, row_id, f"{tx_hash} can no longer be mined: {exc}")
                    continue
                if not _already_sent(exc):
                    self._replan(client, row_id, f"{tx_hash} refused by the node: {exc}")
                    raise
            update_tx(self.sessions, row_id, state=TxState.SENT)
            self._crash("sent")
            try:
                result = client.wait(tx_hash, timeout=self.receipt_timeout)
            except ChainReverted as exc:
                return self._reverted(row_id, client, tx_hash, exc, done)
            except ChainError as exc:  # not mined: dropped, or its nonce went to another transaction
                log.warning(
                    "%s: transaction %s not mined (%s); attempt %d of %d", what, tx_hash, exc, attempt, ATTEMPTS
                )
                self._replan(client, row_id, f"{tx_hash} not mined: {exc}")
                continue
            update_tx(self.sessions, row_id, state=TxState.MINED, block=result.block)
            return Sent(tx_hash, result.block, reconciled=False)
        raise ChainError(f"{what} did not get mined after {ATTEMPTS} attempts")

    def _sign_or_finish(
        self, row_id: int, client: ContractClient, fn_name: str, args: tuple[Any, ...], done: Done
    ) -> Sent | tuple[str, str]:
        """The row's outcome if it needs no transaction, else its signed bytes and hash (stored first).

        The row is locked while it is read and signed, so two processes
        sending it at once sign one transaction between them.
        """
        with UnitOfWork.from_factory(self.sessions) as uow:
            row = uow.session.get(SettlementTx, row_id, with_for_update=True)
            if row is None:
                raise NotFound(f"no outbox row {row_id}", field="outbox_id")
            if row.state == TxState.MINED:
                return Sent(row.tx_hash, row.block, reconciled=False)
            if done():
                row.state = TxState.MINED
                row.error = "effect found on chain"
                sent = Sent(row.tx_hash, row.block, reconciled=True)
                uow.commit()
                return sent
            if row.raw_tx is not None and row.tx_hash is not None:
                return row.raw_tx, row.tx_hash
            signed = client.sign(fn_name, *args)
            ready = ("0x" + bytes(signed.raw_transaction).hex(), "0x" + bytes(signed.hash).hex())
            row.raw_tx, row.tx_hash = ready
            row.state = TxState.PLANNED
            try:
                uow.commit()
            except BaseException:  # never sent: its nonce is free again, so the counter must not skip it
                _forget_nonce(client)
                raise
            return ready

    def _reverted(self, row_id: int, client: ContractClient, tx_hash: str, exc: ChainReverted, done: Done) -> Sent:
        if done():  # e.g. a second transaction for an effect the first already had
            update_tx(self.sessions, row_id, state=TxState.MINED, error=f"reverted but effect on chain: {exc.message}")
            return Sent(tx_hash, None, reconciled=True)
        self._replan(client, row_id, f"{tx_hash} reverted: {exc.message}")
        raise exc

    def _replan(self, client: ContractClient, row_id: int, error: str) -> None:
        """The row's transaction will not be mined: forget it, so the next attempt signs anew.

        The sender's nonce is read from the node again: the lost transaction's
        nonce may be free again, or taken by another transaction.
        """
        with UnitOfWork.from_factory(self.sessions) as uow:
            row = uow.session.get(SettlementTx, row_id, with_for_update=True)
            if row is not None and row.state != TxState.MINED:
                row.state = TxState.PLANNED
                row.raw_tx = None
                row.tx_hash = None
                row.error = error[:2000]
                uow.commit()
        _forget_nonce(client)

    def _crash(self, stage: str) -> None:
        if self.crash_hook:
            self.crash_hook(stage)


def _forget_nonce(client: ContractClient) -> None:
    """Read the signer's next nonce from the node again (a transaction of ours was lost or never sent)."""
    if client.default_sender is not None:
        client.chain.nonces.reset(client.default_sender.address)


def _member_call(house: ClearingHouseClient, item: OutboxItem) -> tuple[str, tuple[Any, ...], Done]:
    """The contract call of an operator row, and how to see its effect on chain."""
    addr = item.member_address
    if addr is None:
        raise ValueError(f"outbox row {item.id} ({item.kind}) has no member")
    if item.kind == REGISTER_MEMBER:
        return "admitMember", (addr, 0), lambda: house.member(addr).admitted
    if item.kind == SET_CREDIT_LIMIT:
        limit = item.amount or 0
        return "setCreditLimit", (addr, limit), lambda: house.member(addr).credit_limit == limit
    if item.kind == SUSPEND_MEMBER:
        return "suspendMember", (addr,), lambda: house.member(addr).suspended
    if item.kind == RESUME_MEMBER:
        return "resumeMember", (addr,), lambda: not house.member(addr).suspended
    raise ValueError(f"{item.kind} is not an operator row")


#: How nodes say they already hold the identical transaction (or mined it).
_ALREADY = ("already known", "known transaction", "nonce too low")


def _already_sent(exc: ChainError) -> bool:
    return any(s in str(exc).lower() for s in _ALREADY)


def _lost(client: ContractClient, tx_hash: str, exc: ChainError) -> bool:
    """Refused for its nonce and unknown to the node: these bytes can never be mined
    (another transaction took the nonce), so the row is signed anew at once."""
    return "nonce" in str(exc).lower() and not client.known(tx_hash)
