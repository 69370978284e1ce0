"""The outbox: every chain write of the house, recorded before it is sent, sent by one chain writer.

One scheme for every kind. A ``settlement_txs`` row is planned (state ``planned``) by :func:`plan`, in the
same ledger transaction as the change that needs it. The row says what to call, so any process can send it:
member rows through their member; cycle steps, operator actions and a default's calls (``default_calls.py``)
through ``payload["fn"]`` and ``payload["args"]`` (:func:`resolve`). After that transaction commits:

* the process that holds the chain writer's lease (``adapters/db/lease.py``:
  always on SQLite or with an in-process chain; elected with an advisory lock
  on PostgreSQL, so ``clearing serve --workers N`` has one) sends the row at
  once, in the caller's thread;
* any other process only waits for the writer to mine it (:meth:`Outbox.call`
  up to ``wait_seconds``, then 503; :meth:`Outbox.dispatch` logs and returns),
  while the writer's loop (``services/writer.py``) sends every pending row,
  oldest first.

Sending a row (``services/tx_sender.py``) means: the row is ``mined``:
nothing to do; the effect is already on chain (``done()`` reads the chain:
member admitted, credit limit equal, suspended flag equal, cycle committed,
escrow released): mark the row mined; otherwise sign locally (the hash is
known before broadcast), store the raw transaction and its hash on the row
and commit, broadcast, wait for the receipt under every hash the row has
had (a stalled transaction is replaced at its nonce with higher fees), record
``mined``. A nonce another sender took is resynced from the chain and the
row signed anew, with backoff.

After a crash at any point, sending the row again finds it and either sees the effect on chain, re-sends the
identical bytes, or (when the node lost them and their nonce went to another transaction) signs anew. A
transaction that reverts leaves the row ``planned`` with the error, to be signed anew by the next attempt (an
operator action fails instead: its request is refused).
The contract keeps every effect idempotent as well: it refuses a second
admission, suspension or commit of a cycle id, and a credit limit is a value.

Withdrawals are the member's own transaction (the house cannot move a member's collateral): the row carries
the call data for the member's wallet; chain sync completes it on ``Withdrawn`` (:func:`complete_withdrawal`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from clearing.adapters.chain.client import ClearingHouseClient, ContractClient
from clearing.adapters.chain.deploy import Contracts
from clearing.adapters.chain.escrow_client import OrderEscrowClient
from clearing.adapters.db.lease import AlwaysHeld, Lease
from clearing.adapters.db.models import Member, SettlementTx
from clearing.adapters.db.reservations import lock_members
from clearing.adapters.db.uow import UnitOfWork
from clearing.domain.vocabulary import TxState
from clearing.errors import ChainError, ChainReverted, Conflict, NotFound, ServiceUnavailable
from clearing.services.default_calls import DEFAULT_KINDS, default_done
from clearing.services.escrow_outcome import ORDER_CLOSED
from clearing.services.pledge_calls import PLEDGE_KINDS, pledge_done
from clearing.services.pool_calls import POOL_KINDS, pool_done
from clearing.services.tx_sender import CrashHook, Done, NoncesTaken, Sent, TxSender, WriterPolicy, update_tx

__all__ = ["CrashHook", "Done", "Outbox", "OutboxItem", "Sent", "WriterPolicy", "update_tx"]

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
#: Operator actions on a committed cycle's escrow, and on a tier-C order.
CYCLE_ACTION_KINDS = (CYCLE_RELEASE, CYCLE_RELEASE_PRO_RATA, CYCLE_HOLD, CYCLE_REFUND)
ORDER_ACTION_KINDS = (ORDER_RELEASE, ORDER_REFUND, ORDER_RESOLVE, ORDER_CLAIM)
#: Operator actions: the caller plans the row (:func:`plan`) and sends exactly it (``Outbox.call(row_id=...)``).
ACTION_KINDS = (*CYCLE_ACTION_KINDS, *ORDER_ACTION_KINDS, *POOL_KINDS, *PLEDGE_KINDS)
KINDS = (*MEMBER_KINDS, *CYCLE_KINDS, *ACTION_KINDS, *DEFAULT_KINDS)
#: Rows the house signs with the operator key: what the chain writer sends (withdrawals are the member's).
HOUSE_KINDS = (*OPERATOR_KINDS, *CYCLE_KINDS, *ACTION_KINDS, *DEFAULT_KINDS)
PENDING = (TxState.PLANNED, TxState.SENT)  # states of a row not done yet

#: Kinds that set one on-chain value of a member: only the newest row of a family is sent,
#: so an older row retried after a newer one was mined cannot undo it.
_FAMILIES: dict[str, tuple[str, ...]] = {
    SET_CREDIT_LIMIT: (SET_CREDIT_LIMIT,),
    SUSPEND_MEMBER: (SUSPEND_MEMBER, RESUME_MEMBER),
    RESUME_MEMBER: (SUSPEND_MEMBER, RESUME_MEMBER),
}


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


def pending(s: Session, *, kinds: Sequence[str] = (*HOUSE_KINDS, WITHDRAW), limit: int = 500) -> list[OutboxItem]:
    """What the chain writer sends, oldest first: house rows not mined or failed yet, and withdrawals
    whose call data is still to be stored."""
    rows = s.scalars(
        select(SettlementTx)
        .where(SettlementTx.kind.in_(kinds), SettlementTx.state.in_(PENDING))
        .order_by(SettlementTx.id)
        .limit(limit)
    ).all()
    return [_item(s, r) for r in rows if r.kind != WITHDRAW or "data" not in (r.payload or {})]


# --------------------------------------------------------------------------- the call a row stands for
def json_args(args: Sequence[Any]) -> list[Any]:
    """Contract arguments as JSON: ints as decimal strings, bytes as 0x-hex, lists element-wise.

    >>> json_args([7, b"\\x01" * 32, ["0xAb", 5]])[::2]
    ['7', ['0xAb', '5']]
    """
    out: list[Any] = []
    for a in args:
        if isinstance(a, bool):
            raise TypeError("no boolean arguments here")
        if isinstance(a, int):
            out.append(str(a))
        elif isinstance(a, bytes):
            out.append("0x" + a.hex())
        elif isinstance(a, (list, tuple)):
            out.append(json_args(a))
        else:
            out.append(a)
    return out


def call_args(args: Sequence[Any]) -> list[Any]:
    """The inverse of :func:`json_args` for the calls stored here: digit strings are ints, 32-byte hex is bytes,
    anything else (addresses) stays a string.

    >>> call_args(["7", "0x" + "01" * 32, ["0xAb", "5"]]) == [7, b"\\x01" * 32, ["0xAb", 5]]
    True
    """
    out: list[Any] = []
    for a in args:
        if isinstance(a, list):
            out.append(call_args(a))
        elif isinstance(a, str) and a.lstrip("-").isdigit():
            out.append(int(a))
        elif isinstance(a, str) and a.startswith("0x") and len(a) == 66:
            out.append(bytes.fromhex(a[2:]))
        else:
            out.append(a)
    return out


class ChainCall(NamedTuple):
    """What sending a row calls, and how to see its effect on chain."""

    client: ContractClient
    fn: str
    args: tuple[Any, ...]
    done: Done


def cycle_committed(house: ClearingHouseClient, cycle_id: int, root: bytes) -> bool:
    """Whether the chain holds cycle ``cycle_id`` committed (a Conflict if with another root)."""
    on_chain = house.cycle(cycle_id)
    if on_chain.committed and on_chain.root != "0x" + root.hex():
        raise Conflict(f"chain already holds cycle {cycle_id} with another root {on_chain.root}")
    return on_chain.committed


def cycle_action_done(house: ClearingHouseClient, cycle_id: int, expect: dict[str, Any]) -> Done:
    """Whether the chain already shows a cycle action's effect (what its row's ``expect`` recorded)."""

    def done() -> bool:
        if "held_until" in expect:
            return house.cycle(cycle_id).held_until == int(expect["held_until"])
        pending_ok = all(house.pending_credit(cycle_id, a) <= int(v) for a, v in expect.get("pending", {}).items())
        refunded = expect.get("refunded", {}).items()
        return pending_ok and all(house.refunded_debit(cycle_id, a) >= int(v) for a, v in refunded)

    return done


def order_action_done(escrow: OrderEscrowClient, oid: bytes, expect: dict[str, Any]) -> Done:
    """Whether the chain already shows an order action's effect (monotonic totals, or the order closed)."""

    def done() -> bool:
        state = escrow.order(oid)
        if "released" in expect:
            return state.released >= int(expect["released"])
        if "refunded" in expect:
            return state.refunded >= int(expect["refunded"])
        return state.status == ORDER_CLOSED

    return done


def resolve(contracts: Contracts, item: OutboxItem) -> ChainCall | None:
    """The call of a house row from the row alone (what the writer sends); None when the row does not say
    (a cycle step planned by an earlier version: the cycle service's recovery sends it)."""
    house = contracts.house
    if item.kind in OPERATOR_KINDS:
        return ChainCall(house, *_member_call(house, item))
    p = item.payload
    if "fn" not in p or "args" not in p:
        return None
    fn, args, cycle_id = str(p["fn"]), tuple(call_args(p["args"])), item.cycle_id
    expect = dict(p.get("expect") or {})
    if item.kind in (COMMIT, SETTLE) and cycle_id is not None:
        root = args[1]
        return ChainCall(house, fn, args, lambda: cycle_committed(house, cycle_id, root))
    if item.kind == RELEASE and cycle_id is not None:
        return ChainCall(house, fn, args, lambda: house.cycle(cycle_id).escrowed == 0)
    if item.kind in CYCLE_ACTION_KINDS and cycle_id is not None:
        return ChainCall(house, fn, args, cycle_action_done(house, cycle_id, expect))
    if item.kind in DEFAULT_KINDS and item.member_address is not None:  # services/default_calls.py
        return ChainCall(house, fn, args, default_done(house, item.kind, item.member_address))
    if item.kind in ORDER_ACTION_KINDS and "obligation_key" in p:
        # The order id is the obligation's key (migration 0004_member_scoped_ids gave older rows theirs).
        oid = bytes.fromhex(str(p["obligation_key"]).removeprefix("0x"))
        return ChainCall(contracts.escrow, fn, args, order_action_done(contracts.escrow, oid, expect))
    if item.kind in PLEDGE_KINDS and contracts.vault is not None:  # the vault's risk calls (services/pledge_calls.py)
        return ChainCall(contracts.vault, fn, args, pledge_done(contracts.vault, item.kind, args, expect))
    return ChainCall(house, fn, args, pool_done(house, item.kind, args)) if item.kind in POOL_KINDS else None


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


# --------------------------------------------------------------------------- sending (after the commit)
class Outbox:
    """Sends planned rows, or waits for the process that does.

    ``contracts`` is the deployment member rows go to; without it :meth:`dispatch` leaves them planned
    for a process that has the chain. :meth:`call` sends through the client it is given. ``lease``
    says whether this process is the chain writer (default: always, one process); one row at a time
    is sent per outbox (the counter of nonces is one per key).
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        contracts: Contracts | None,
        *,
        receipt_timeout: float | None = None,
        crash_hook: CrashHook | None = None,
        policy: WriterPolicy | None = None,
        lease: Lease | None = None,
    ) -> None:
        self.sessions = sessions
        self.contracts = contracts
        policy = policy or WriterPolicy()
        self.policy = policy if receipt_timeout is None else replace(policy, receipt_timeout=receipt_timeout)
        self.lease = lease or AlwaysHeld()
        self.sender = TxSender(sessions, policy=self.policy, crash_hook=crash_hook)
        self._sending = threading.Lock()
        self._recovered: int | None = None

    # -- who sends
    def is_writer(self) -> bool:
        """Whether this process sends chain writes now (it takes the writer's lease if it is free)."""
        return self.lease.acquire()

    def writes_here(self) -> bool:
        """Whether this process has the chain and was the writer when it last looked (no I/O)."""
        return self.contracts is not None and self.lease.held

    def needs_recovery(self) -> bool:
        """The writer's lease was taken since start-up recovery last ran here (run it again)."""
        return self.lease.held and self._recovered != self.lease.generation

    def mark_recovered(self) -> None:
        self._recovered = self.lease.generation

    def close(self) -> None:
        """Give up the writer's lease (another process takes over)."""
        self.lease.release()

    # -- member rows
    def dispatch(self, items: Iterable[OutboxItem]) -> None:
        """Send rows just planned, once their ledger transaction has committed (or wait for the writer).

        Never raises: the ledger already holds the request, so a failure is
        logged and the row stays planned for the chain writer's next pass.
        """
        if self.contracts is None:
            return
        for item in items:
            try:
                self.send_row(item)
            except ChainError as exc:  # the row stays planned; the chain writer sends it
                log.warning("outbox row %s (%s) not mined yet: %s", item.id, item.kind, exc.message)
            except ServiceUnavailable as exc:
                log.warning("outbox row %s (%s): %s", item.id, item.kind, exc.message)
            except Exception:
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
        return self._run(item.id, house, fn_name, args, done, what=f"{item.kind} of {item.member}")

    def send_row(self, item: OutboxItem) -> Sent | None:
        """Send any pending row from what it records (the chain writer's pass); None: nothing to send here."""
        if item.kind in MEMBER_KINDS:
            return self.send(item)
        call = resolve(self.contracts, item) if self.contracts is not None else None
        if call is None:
            return None
        what = f"{item.kind} (outbox row {item.id})"
        return self._run(item.id, *call, what=what, fail=item.kind in ACTION_KINDS)

    def resend_planned(self) -> int:
        """Start-up recovery: send every member row not yet done, oldest first; returns how many.

        Operator rows still ``planned`` or ``sent`` are sent (a crash may have
        left either), and withdrawals without call data get it. A failure is
        logged and leaves the row for the chain writer. Only the writer sends.
        """
        if self.contracts is None or not self.is_writer():
            return 0
        with UnitOfWork.from_factory(self.sessions, read_only=True) as uow:
            items = pending(uow.session, kinds=MEMBER_KINDS, limit=10_000)
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

    # -- cycle steps and operator actions
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
        on the first call (with the call, so any process can send it);
        calling again after any crash finishes it. An operator action
        (``ACTION_KINDS``) passes instead the ``row_id`` it planned with
        :func:`plan`, since one cycle or order may see many; a revert fails it.
        """
        if row_id is not None:
            if kind not in ACTION_KINDS:
                raise ValueError(f"{kind} is not an operator action")
            what = f"{kind} (outbox row {row_id})"
            return self._run(row_id, client, fn_name, tuple(args), done, what=what, fail=True)
        if kind not in CYCLE_KINDS or cycle_id is None:
            raise ValueError(f"{kind} is not a cycle step of a cycle")
        stored = {"fn": fn_name, "args": json_args(args)}
        with UnitOfWork.from_factory(self.sessions) as uow:
            s = uow.session
            row = s.scalars(
                select(SettlementTx)
                .where(SettlementTx.kind == kind, SettlementTx.cycle_id == cycle_id)
                .order_by(SettlementTx.id.desc())
                .limit(1)
                .with_for_update()
            ).first()
            if row is None or row.state == TxState.FAILED:  # failed: a row left by an earlier version
                row_id = plan(s, kind, cycle_id=cycle_id, payload=stored).id
            else:
                row_id = row.id
                if row.raw_tx is None and row.state == TxState.PLANNED:  # not signed yet: the newest arguments
                    row.payload = {**(row.payload or {}), **stored}
            uow.commit()
        return self._run(row_id, client, fn_name, tuple(args), done, what=f"{kind} of cycle {cycle_id}")

    # -- the one way a row is sent: here if this process is the writer, else by the writer
    def _run(
        self,
        row_id: int,
        client: ContractClient,
        fn_name: str,
        args: tuple[Any, ...],
        done: Done,
        *,
        what: str,
        fail: bool = False,
    ) -> Sent:
        deadline = time.monotonic() + self.policy.wait_seconds
        baseline = self._reverts(row_id)
        while True:
            if self.lease.acquire() and self._sending.acquire(timeout=self.policy.poll_seconds):
                try:
                    return self.sender.send(row_id, client, fn_name, args, done=done, what=what, fail_on_revert=fail)
                except NoncesTaken:  # another sender keeps winning the nonce: go on while the caller waits
                    if time.monotonic() >= deadline:
                        raise
                finally:
                    self._sending.release()
            sent = self._outcome(row_id, baseline)
            if sent is not None:
                return sent
            if time.monotonic() >= deadline:
                raise ServiceUnavailable(
                    f"{what}: the chain writer has not mined outbox row {row_id} within "
                    f"{self.policy.wait_seconds:g} s; it stays queued and will be sent: repeat the request",
                    field=None,
                    outbox_id=row_id,
                )
            if not self.lease.held:
                time.sleep(self.policy.poll_seconds)

    def _reverts(self, row_id: int) -> int:
        with UnitOfWork.from_factory(self.sessions, read_only=True) as uow:
            row = uow.session.get(SettlementTx, row_id)
            if row is None:
                raise NotFound(f"no outbox row {row_id}", field="outbox_id")
            return int((row.payload or {}).get("reverts", 0))

    def _outcome(self, row_id: int, baseline: int) -> Sent | None:
        """What became of a row another process sends: mined, failed or reverted since we began to wait
        (raised as the sender would have), or None while it is pending."""
        with UnitOfWork.from_factory(self.sessions, read_only=True) as uow:
            row = uow.session.get(SettlementTx, row_id)
            if row is None:
                raise NotFound(f"no outbox row {row_id}", field="outbox_id")
            p = row.payload or {}
            if row.state == TxState.MINED:
                return Sent(row.tx_hash, row.block, reconciled=bool(p.get("reconciled")))
            revert = p.get("revert") or {}
            if row.state == TxState.FAILED and not revert:
                raise ChainError(row.error or f"outbox row {row_id} failed", outbox_id=row_id)
            if row.state == TxState.FAILED or int(p.get("reverts", 0)) > baseline:
                raise ChainReverted(str(revert.get("message") or row.error), error=revert.get("error"))
            return None
