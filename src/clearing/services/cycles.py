"""Cycles: close → net (liquidity-saving) → Merkle root → commit → release → record.

Each step is one ledger transaction that records the new state; chain steps
go through the outbox (``services.outbox``). ``settle`` resumes from
whatever state a cycle is in, so after a crash it finishes the cycle by
reading the chain; the contract refuses a second commit of a cycle id.
"""

from __future__ import annotations

import builtins
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Table, bindparam, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from clearing.adapters.chain.deploy import Contracts
from clearing.adapters.db import reservations
from clearing.adapters.db.models import Cycle, CyclePosition, CycleTransition, Member, Obligation, SettlementTx
from clearing.adapters.db.uow import UnitOfWork
from clearing.adapters.stdout_guard import quiet_native_stdout
from clearing.domain.liquidity import select_settlement
from clearing.domain.merkle import MerkleTree, leaf_hash
from clearing.domain.types import Obligation as DomainObligation
from clearing.domain.vocabulary import CycleState, Route, TxState
from clearing.domain.vocabulary import ObligationStatus as S
from clearing.errors import ChainError, NotFound
from clearing.services import chain_sync, escrow_outcome
from clearing.services.escrow_outcome import OPERATOR_RELEASE, operator_released
from clearing.services.outbox import COMMIT, RELEASE, SETTLE, CrashHook, Outbox, cycle_committed
from clearing.services.webhooks.events import publish_cycle

log = logging.getLogger(__name__)

#: Obligations a cycle takes at cut-off (held, rejected and escrow ones stay out).
ELIGIBLE = (S.ACCEPTED, S.QUEUED_BEYOND_HEADROOM, S.CARRIED)
#: Waiting, but kept out of the cut-off by an open hold (a dispute's hold keeps some ``disputed``).
_KEPT = (S.HELD, S.DISPUTED)
#: ``IClearingHouse.CycleStatus.SETTLED``: the cycle's escrow is empty.
CHAIN_SETTLED = 2
#: States in which :meth:`CycleService.settle` leaves a cycle it has finished.
_ENDED = (CycleState.SETTLED, CycleState.PARTIAL, CycleState.ABORTED)
#: The obligations table, for executemany UPDATEs by key (Core: one statement, many parameter sets).
_OBLIGATIONS = cast(Table, Obligation.__table__)


@dataclass(frozen=True)
class CycleView:
    id: int
    state: str
    root: str | None
    gross: int
    settled_value: int
    obligations: int
    settled: int
    carried: int
    commit_tx_hash: str | None
    #: The transaction that released the funds: with ``settleCycle`` the same one that committed.
    release_tx_hash: str | None
    positions: dict[str, int] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)
    #: OPEN only: obligations waiting, by status (``obligations``/``gross`` count what cut-off would take).
    pending: dict[str, int] = field(default_factory=dict)


def _now() -> datetime:
    return datetime.now(UTC)


def _deltas(s: Session, cycle_id: int) -> dict[str, int]:
    """A cycle's net delta per member address, as recorded at netting."""
    return dict(
        s.execute(
            select(Member.address, CyclePosition.net_delta)
            .join(Member, Member.id == CyclePosition.member_id)
            .where(CyclePosition.cycle_id == cycle_id)
        ).all()
    )


def _pending(s: Session, cycle_id: int) -> tuple[dict[str, int], int, int]:
    """An open cycle's waiting obligations: (count by status, count and value the cut-off would take).

    Held and disputed ones are counted apart: they wait for review and stay out of the cut-off.
    """
    waiting = (Obligation.route == Route.NET, or_(Obligation.cycle_id.is_(None), Obligation.cycle_id == cycle_id))
    counts = {
        str(st): int(n)
        for st, n in s.execute(
            select(Obligation.status, func.count())
            .where(*waiting, Obligation.status.in_((*ELIGIBLE, *_KEPT)))
            .group_by(Obligation.status)
        )
    }
    taken = (*waiting, Obligation.status.in_(ELIGIBLE))
    if s.get_bind().dialect.name == "postgresql":  # NUMERIC sums exactly in SQL
        value = int(s.scalar(select(func.coalesce(func.sum(Obligation.amount), 0)).where(*taken)) or 0)
    else:  # SQLite stores amounts as decimal text: sum in Python
        value = sum(s.scalars(select(Obligation.amount).where(*taken)))
    return counts, sum(n for st, n in counts.items() if st not in _KEPT), value


def _release_tx(s: Session, cycle_id: int) -> str | None:
    """The mined transaction that released a cycle whose escrow is already empty.

    A ``releaseCycle`` of an earlier attempt, else ``settleCycle`` (commit and full release
    in one transaction); None when creditors emptied the escrow themselves (``claim``).
    """
    for kind in (RELEASE, SETTLE):
        tx_hash = s.scalar(
            select(SettlementTx.tx_hash)
            .where(
                SettlementTx.cycle_id == cycle_id,
                SettlementTx.kind == kind,
                SettlementTx.state == TxState.MINED,
                SettlementTx.tx_hash.is_not(None),
            )
            .order_by(SettlementTx.id.desc())
            .limit(1)
        )
        if tx_hash:
            return str(tx_hash)
    return None


def _transition(s: Session, cycle: Cycle, to: str, **detail: Any) -> None:
    s.add(CycleTransition(cycle_id=cycle.id, from_state=cycle.state, to_state=to, detail=detail))
    cycle.state = to


class CycleService:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        contracts: Contracts,
        *,
        solver_budget_s: float = 1.5,
        fifo: bool = False,
        one_step: bool = True,
        crash_hook: CrashHook | None = None,
        outbox: Outbox | None = None,
        progress: Callable[[str], None] | None = None,
        on_settled: Callable[[int], None] | None = None,
        on_committed: Callable[[int], None] | None = None,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.sessions = sessions
        #: The house's clock for cut-off times: the credit score compares them with obligations' creation
        #: times (an obligation created before an earlier cut-off settled late), so both read one clock.
        self.clock = clock
        self._contracts = contracts
        self.solver_budget_s = solver_budget_s
        self.fifo = fifo
        #: Commit and release in one call (settleCycle): most cycles release in full at
        #: once, and skipping per-member escrow bookkeeping is most of the gas.
        self.one_step = one_step
        if outbox is not None and crash_hook is not None:
            raise ValueError("give the crash hook to the outbox")
        #: Cycle steps send through ``Outbox.call`` with this service's contracts.
        self.outbox = outbox or Outbox(sessions, None, crash_hook=crash_hook)
        self.progress = progress or (lambda _msg: None)
        #: Called with the cycle id when :meth:`settle` ends a cycle (settled, partial or aborted): the
        #: composition root rescores credit and recomputes Cover 2 there. Its failure is logged; the cycle
        #: stays settled.
        self.on_settled = on_settled
        #: Called with the cycle id once a cycle is committed on chain or aborted at netting: the composition
        #: root pays (or lapses) the advances members took on it while it was open. Logged if it fails.
        self.on_committed = on_committed

    @property
    def contracts(self) -> Contracts:
        return self._contracts

    # ------------------------------------------------------------------ reads
    def get(self, cycle_id: int) -> CycleView:
        with UnitOfWork.from_factory(self.sessions, read_only=True) as uow:
            cycle = uow.session.get(Cycle, cycle_id)
            if cycle is None:
                raise NotFound(f"cycle {cycle_id} not found", field="cycle_id")
            return self._view(uow.session, cycle)

    def list(self, limit: int = 100) -> list[CycleView]:
        with UnitOfWork.from_factory(self.sessions, read_only=True) as uow:
            rows = uow.session.scalars(select(Cycle).order_by(Cycle.id.desc()).limit(limit)).all()
            return [self._view(uow.session, c) for c in rows]

    def _view(self, s: Session, cycle: Cycle) -> CycleView:
        """The cycle as recorded; an open one counts what the cut-off would take now (nothing is recorded yet)."""
        d = cycle.detail or {}
        count, gross = int(d.get("obligations", 0)), cycle.gross
        pending: dict[str, int] = {}
        if cycle.state == CycleState.OPEN:
            pending, count, gross = _pending(s, cycle.id)
        positions = dict(
            s.execute(
                select(Member.name, CyclePosition.net_delta)
                .join(Member, Member.id == CyclePosition.member_id)
                .where(CyclePosition.cycle_id == cycle.id)
            ).all()
        )
        return CycleView(
            id=cycle.id,
            state=cycle.state,
            root=cycle.root,
            gross=gross,
            settled_value=cycle.settled_value,
            obligations=count,
            settled=int(d.get("settled", 0)),
            carried=int(d.get("carried", 0)),
            commit_tx_hash=cycle.commit_tx_hash,
            release_tx_hash=cycle.release_tx_hash,
            positions=positions,
            detail=d,
            pending=pending,
        )

    # ------------------------------------------------------------------ open / close
    def open(self) -> CycleView:
        """The open cycle, created if there is none (idempotent)."""
        with UnitOfWork.from_factory(self.sessions) as uow:
            cycle = self._open_cycle(uow.session)
            uow.commit()
            return self._view(uow.session, cycle)

    def _open_cycle(self, s: Session) -> Cycle:
        cycle = s.scalars(
            select(Cycle).where(Cycle.state == CycleState.OPEN).order_by(Cycle.id).with_for_update()
        ).first()
        if cycle is None:
            cycle = Cycle(state=CycleState.OPEN)
            s.add(cycle)
            s.flush()
            s.add(CycleTransition(cycle_id=cycle.id, from_state=None, to_state=CycleState.OPEN))
        return cycle

    def close(self, cycle_id: int | None = None) -> CycleView:
        """Cut-off: take every eligible obligation into the cycle and open the next one."""
        with UnitOfWork.from_factory(self.sessions) as uow:
            s = uow.session
            # Row lock: two processes closing at once queue here; the second sees CLOSED.
            cycle = s.get(Cycle, cycle_id, with_for_update=True) if cycle_id is not None else self._open_cycle(s)
            if cycle is None:
                raise NotFound(f"cycle {cycle_id} not found", field="cycle_id")
            if cycle.state != CycleState.OPEN:
                return self._view(s, cycle)  # already closed: closing again is a no-op
            taken = cast(
                CursorResult[Any],
                s.execute(
                    update(Obligation)
                    .where(
                        Obligation.status.in_(ELIGIBLE),
                        Obligation.route == Route.NET,
                        or_(Obligation.cycle_id.is_(None), Obligation.cycle_id == cycle.id),
                    )
                    .values(cycle_id=cycle.id)
                ),
            ).rowcount
            cycle.closed_at = cycle.cutoff_at = self.clock()
            cycle.detail = {**(cycle.detail or {}), "obligations": taken}
            _transition(s, cycle, CycleState.CLOSED, obligations=taken)
            s.flush()
            s.add(Cycle(state=CycleState.OPEN))
            s.flush()
            uow.commit()
            self.progress(f"cycle {cycle.id} closed with {taken} obligations")
            return self._view(s, cycle)

    # ------------------------------------------------------------------ net
    def net(self, cycle_id: int) -> CycleView:
        """Liquidity-saving selection against on-chain available balances, then the root."""
        c = self.contracts
        with UnitOfWork.from_factory(self.sessions) as uow:
            s = uow.session
            cycle = self._require(s, cycle_id, lock=True)  # one process nets a cycle
            if cycle.state != CycleState.CLOSED:
                return self._view(s, cycle)
            members = {m.id: m for m in s.scalars(select(Member))}
            rows = s.scalars(
                select(Obligation)
                .where(Obligation.cycle_id == cycle.id, Obligation.status.in_(ELIGIBLE))
                .order_by(Obligation.created_at, Obligation.id, Obligation.obligation_key)
            ).all()
            # The domain's id is the obligation key: ids are unique per submitter only, keys across the ledger.
            obs = [
                DomainObligation(
                    o.obligation_key, members[o.debtor_id].address, members[o.creditor_id].address, o.amount
                )
                for o in rows
            ]
            named = {o.obligation_key: (o.id, members[o.submitted_by].name) for o in rows}
            debtors = {o.debtor for o in obs}
            t0 = time.perf_counter()
            available = c.house.available_of_many(sorted(debtors))
            with quiet_native_stdout():  # HiGHS printf would corrupt a CLI's JSON on stdout
                plan = select_settlement(obs, available, fifo=self.fifo, time_budget=self.solver_budget_s)
            self.progress(
                f"cycle {cycle.id}: {len(plan.settled)}/{len(obs)} obligations settle "
                f"({plan.method}, {time.perf_counter() - t0:.2f}s)"
            )
            settled = set(plan.settled)
            deferred = {d.id: d for d in plan.deferred}
            leaves, leaf_rows, short_rows = [], [], []
            carried: dict[str, int] = {}
            for o in obs:
                if o.id in settled:
                    leaf = leaf_hash(cycle.id, bytes.fromhex(o.id[2:]), o.debtor, o.creditor, o.amount)
                    leaves.append(leaf)
                    leaf_rows.append({"key": o.id, "leaf": "0x" + leaf.hex()})
                    continue
                carried[o.debtor] = carried.get(o.debtor, 0) + o.amount
                if o.id in deferred:
                    short_rows.append({"key": o.id, "shortfall": deferred[o.id].shortfall})
            # Reservations move with the statuses (the domain's rules), set-based for the
            # whole cycle; the deferred few then leave it through reservations.transition.
            reservations.transition_cycle(s, cycle.id, ELIGIBLE, S.NETTED, shortfall=None)
            reservations.transition(s, [o.id for o in obs if o.id not in settled], S.CARRIED, cycle_id=None)
            conn = s.connection()
            if leaf_rows:
                conn.execute(
                    update(_OBLIGATIONS)
                    .where(_OBLIGATIONS.c.obligation_key == bindparam("key"))
                    .values(leaf=bindparam("leaf")),
                    leaf_rows,
                )
            if short_rows:
                conn.execute(
                    update(_OBLIGATIONS)
                    .where(_OBLIGATIONS.c.obligation_key == bindparam("key"))
                    .values(shortfall=bindparam("shortfall")),
                    short_rows,
                )
            by_addr = {m.address: m for m in members.values()}
            for addr in set(plan.positions) | set(carried):
                s.add(
                    CyclePosition(
                        cycle_id=cycle.id,
                        member_id=by_addr[addr].id,
                        net_delta=plan.positions.get(addr, 0),
                        carried=carried.get(addr, 0),
                    )
                )
            cycle.root = "0x" + MerkleTree(leaves).root.hex() if leaves else None
            cycle.gross = sum(o.amount for o in obs)
            cycle.settled_value = plan.settled_value
            cycle.detail = {
                **(cycle.detail or {}),
                "obligations": len(obs),
                "settled": len(settled),
                "carried": len(obs) - len(settled),
                "method": plan.method,
                "optimality_gap": plan.optimality_gap,
                "deferred": [
                    {
                        "id": named[d.id][0],
                        "submitter": named[d.id][1],
                        "obligation_key": d.id,
                        "reason": d.reason,
                        "debtor": d.debtor,
                        "shortfall": str(d.shortfall),
                    }
                    for d in plan.deferred[:1000]
                ],
            }
            if not settled:
                _transition(s, cycle, CycleState.ABORTED, reason="nothing could settle", carried=len(obs))
            else:
                _transition(s, cycle, CycleState.NETTED, settled=len(settled), carried=len(obs) - len(settled))
            uow.commit()
            view = self._view(s, cycle)
        if view.state == CycleState.ABORTED:
            self._hook(self.on_committed, cycle_id)
        return view

    def _require(self, s: Session, cycle_id: int, *, lock: bool = False) -> Cycle:
        cycle = s.get(Cycle, cycle_id, with_for_update=lock)
        if cycle is None:
            raise NotFound(f"cycle {cycle_id} not found", field="cycle_id")
        return cycle

    # ------------------------------------------------------------------ commit / release
    def commit(self, cycle_id: int) -> CycleView:
        c = self.contracts
        with UnitOfWork.from_factory(self.sessions, read_only=True) as uow:
            s = uow.session
            cycle = self._require(s, cycle_id)
            if cycle.state != CycleState.NETTED:
                return self._view(s, cycle)
            deltas = {a: d for a, d in _deltas(s, cycle_id).items() if d != 0}
            count = (
                s.scalar(
                    select(func.count())
                    .select_from(Obligation)
                    .where(Obligation.cycle_id == cycle_id, Obligation.status.in_((S.NETTED, S.SETTLED)))
                )
                or 0
            )
            root_hex = cycle.root or ""
            root = bytes.fromhex(root_hex.removeprefix("0x"))
            gross = cycle.settled_value
            operator = operator_released(cycle)
        args = c.house.commit_args(cycle_id, root, count, gross, deltas)

        def done() -> bool:
            return cycle_committed(c.house, cycle_id, root)

        # A cycle the operator releases is committed into escrow (commitCycle), never settled in one call.
        fn, kind = ("settleCycle", SETTLE) if self.one_step and not operator else ("commitCycle", COMMIT)
        self.progress(f"cycle {cycle_id}: {fn} with root {root_hex[:18]}… on chain")
        sent = self.outbox.call(c.house, fn, args, kind=kind, cycle_id=cycle_id, done=done)
        if operator:  # the debits reach the mirror before their reservations go: headroom is never overstated
            chain_sync.sync(self.sessions, c)
        with UnitOfWork.from_factory(self.sessions) as uow:
            cycle = self._require(uow.session, cycle_id, lock=True)
            if cycle.state == CycleState.NETTED:
                cycle.commit_tx_hash = sent.tx_hash
                if operator:  # debited on chain, credit pending: neither side reserves any more
                    reservations.transition_cycle(uow.session, cycle_id, (S.NETTED,), S.COMMITTED)
                _transition(uow.session, cycle, CycleState.COMMITTED, tx_hash=sent.tx_hash, reconciled=sent.reconciled)
                uow.commit()
            view = self._view(uow.session, cycle)
        self._hook(self.on_committed, cycle_id)
        return view

    def release(self, cycle_id: int) -> CycleView:
        c = self.contracts
        with UnitOfWork.from_factory(self.sessions, read_only=True) as uow:
            s = uow.session
            cycle = self._require(s, cycle_id)
            if cycle.state != CycleState.COMMITTED:
                return self._view(s, cycle)
            credits = {a: d for a, d in _deltas(s, cycle_id).items() if d > 0}

        def done() -> bool:
            return c.house.cycle(cycle_id).escrowed == 0

        # One read settles the usual case: settleCycle left no escrow behind.
        released = done()
        pending = {} if released else {a: c.house.pending_credit(cycle_id, a) for a in credits}
        to_release = {a: v for a, v in pending.items() if v > 0}

        sent = None
        if to_release:
            self.progress(f"cycle {cycle_id}: releasing to {len(to_release)} creditors")
            creditors, amounts = zip(*sorted(to_release.items(), key=lambda kv: int(kv[0], 16)), strict=True)
            sent = self.outbox.call(
                c.house,
                "releaseCycle",
                (cycle_id, list(creditors), list(amounts)),
                kind=RELEASE,
                cycle_id=cycle_id,
                done=done,
            )
        elif not released:
            raise ChainError(f"cycle {cycle_id} still holds escrow but no creditor has pending credit")
        with UnitOfWork.from_factory(self.sessions) as uow:
            s = uow.session
            cycle = self._require(s, cycle_id, lock=True)  # the cycle, then its members: as commit and net do
            if cycle.state == CycleState.COMMITTED:
                reservations.transition_cycle(s, cycle_id, (S.NETTED,), S.SETTLED)
                cycle.release_tx_hash = sent.tx_hash if sent and sent.tx_hash else _release_tx(s, cycle_id)
                final = CycleState.PARTIAL if int((cycle.detail or {}).get("carried", 0)) else CycleState.SETTLED
                _transition(s, cycle, final, tx_hash=cycle.release_tx_hash)
                publish_cycle(s, cycle)
                uow.commit()
            return self._view(s, cycle)

    # ------------------------------------------------------------------ orchestration
    def settle(self, cycle_id: int | None = None) -> CycleView:
        """Run every remaining step of a cycle; safe to call again after any crash."""
        if cycle_id is None:
            cycle_id = self.close().id
        view = self.get(cycle_id)
        was = view.state
        if view.state == CycleState.OPEN:
            view = self.close(cycle_id)
        if view.state == CycleState.CLOSED:
            view = self.net(cycle_id)
        if view.state == CycleState.NETTED:
            view = self.commit(cycle_id)
        if view.state == CycleState.COMMITTED:
            if view.detail.get("release") == OPERATOR_RELEASE:
                return self._await_operator(cycle_id)
            view = self.release(cycle_id)
            # Settled obligations stop reserving headroom; the mirror must catch up now.
            chain_sync.sync(self.sessions, self.contracts)
        if view.state in _ENDED and was != view.state:
            self._settled(cycle_id)
        return view

    def _settled(self, cycle_id: int) -> None:
        self._hook(self.on_settled, cycle_id)

    @staticmethod
    def _hook(hook: Callable[[int], None] | None, cycle_id: int) -> None:
        if hook is None:
            return
        try:
            hook(cycle_id)
        except Exception:  # the cycle's step stands whatever the hook does
            log.exception("cycle hook %s failed for cycle %s", getattr(hook, "__name__", hook), cycle_id)

    def _await_operator(self, cycle_id: int) -> CycleView:
        """A cycle the operator releases is never released here; record it finished if its escrow is
        empty (creditors may claim after the claim delay, or nothing was escrowed at all)."""
        chain_sync.sync(self.sessions, self.contracts)  # indexes claims; finishes the cycle on CycleSettled
        if self.contracts.house.cycle(cycle_id).status == CHAIN_SETTLED:
            with UnitOfWork.from_factory(self.sessions) as uow:
                if escrow_outcome.finish_cycle(uow.session, cycle_id):
                    uow.commit()
        return self.get(cycle_id)

    def recover(self) -> builtins.list[CycleView]:
        """Finish every cycle left between cut-off and release (run at start-up)."""
        with UnitOfWork.from_factory(self.sessions, read_only=True) as uow:
            ids = uow.session.scalars(
                select(Cycle.id)
                .where(Cycle.state.in_((CycleState.CLOSED, CycleState.NETTED, CycleState.COMMITTED)))
                .order_by(Cycle.id)
            ).all()
        return [self.settle(i) for i in ids]
