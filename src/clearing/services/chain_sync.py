"""Index contract events into the ledger and refresh each member's on-chain mirror.

Headroom checks at submission read the mirror (``members.chain_balance``,
``chain_credit_limit``), never the chain, so they stay fast; this sync keeps
the mirror current. Indexing is idempotent (unique tx hash + log index).
It also completes what members' own transactions and emptied escrows end:
withdrawals (``Withdrawn``), cycles the operator released (``CycleSettled``)
and tier-C orders (``OrderClosed``), through ``escrow_outcome``; it writes
what a default's events say onto its row (``default_events``), and an advance's
(``financing_events``); and it mirrors the asset vault's collections, positions
and each pledging member's collateral value (``pledge_sync``), which headroom counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from clearing.adapters.chain.client import Event
from clearing.adapters.chain.deploy import Contracts
from clearing.adapters.db.lease import xact_lock
from clearing.adapters.db.models import ChainEvent, Member, SettlementTx
from clearing.adapters.db.uow import UnitOfWork
from clearing.domain.amounts import as_json_values
from clearing.domain.vocabulary import EventType, TxState
from clearing.services import default_events, escrow_outcome, financing_events, outbox, pledge_sync
from clearing.services.webhooks.events import publish_member_event

#: Events whose ``member``/``creditor``/``debtor`` argument names a member whose balance moved.
_MEMBER_ARGS = ("member", "creditor", "debtor")


@dataclass(frozen=True)
class SyncResult:
    from_block: int
    to_block: int
    events: int
    members_refreshed: int


def sync(sessions: sessionmaker[Session], contracts: Contracts) -> SyncResult:
    """Index new events of the house, the order escrow and the asset vault; refresh touched members."""
    with UnitOfWork.from_factory(sessions) as uow:
        s = uow.session
        xact_lock(s, "clearing.chain-sync")  # workers sync one at a time: each sees what the last indexed
        head = contracts.chain.w3.eth.block_number
        last = s.scalar(select(func.max(ChainEvent.block_number)))
        start = max(contracts.deployment.block, (last or 0))  # re-read the last block: dedup below
        seen = set(
            s.execute(select(ChainEvent.tx_hash, ChainEvent.log_index).where(ChainEvent.block_number >= start)).all()
        )
        touched: set[str] = set()
        withdrawn: list[Event] = []
        closed_orders: set[str] = set()
        settled_cycles: list[tuple[int, str]] = []
        row_events: list[Event] = []
        vault_events: list[Event] = []
        added = 0
        clients = (contracts.house, contracts.escrow, *((contracts.vault,) if contracts.vault else ()))
        for client in clients:
            for ev in client.events(start, head):
                if (ev.tx_hash, ev.log_index) in seen:
                    continue
                s.add(
                    ChainEvent(
                        block_number=ev.block,
                        log_index=ev.log_index,
                        tx_hash=ev.tx_hash,
                        event=ev.name,
                        args=as_json_values(ev.args),
                    )
                )
                added += 1
                if client is contracts.house:
                    touched.update(str(ev.args[a]) for a in _MEMBER_ARGS if a in ev.args)
                    if ev.name == "Withdrawn":
                        withdrawn.append(ev)
                    elif ev.name == "CycleSettled":
                        settled_cycles.append((int(ev.args["cycleId"]), ev.tx_hash))
                    elif ev.name in default_events.EVENTS or ev.name in financing_events.EVENTS:
                        row_events.append(ev)
                elif client is contracts.vault:
                    vault_events.append(ev)
                elif ev.name == "OrderClosed":
                    closed_orders.add(str(ev.args["orderId"]))
        s.flush()  # the escrow totals below read the events just indexed
        for ev in withdrawn:
            _complete_withdrawal(s, ev)
        for cycle_id, tx_hash in settled_cycles:
            escrow_outcome.finish_cycle(s, cycle_id, tx_hash=tx_hash)
        escrow_outcome.close_orders(s, closed_orders, contracts.escrow.order)
        default_events.record(s, row_events, lambda block: _block_time(contracts, block))
        financing_events.record(s, row_events, lambda block: _block_time(contracts, block))
        if contracts.vault is not None:  # pledges, and every pledging member's value (staleness needs no event)
            pledge_sync.record(s, contracts.vault, sorted(vault_events, key=lambda e: (e.block, e.log_index)))
        refreshed = 0
        if touched:
            rows = list(s.scalars(select(Member).where(Member.address.in_(touched))))
            for m, state in zip(rows, contracts.house.members([m.address for m in rows]), strict=True):
                m.chain_balance, m.chain_credit_limit, m.synced_block = state.balance, state.credit_limit, head
                refreshed += 1
        uow.commit()
    return SyncResult(start, head, added, refreshed)


def _block_time(contracts: Contracts, block: int) -> datetime:
    return datetime.fromtimestamp(int(contracts.chain.w3.eth.get_block(block)["timestamp"]), UTC)


def member_synced_block(sessions: sessionmaker[Session], address: str) -> int | None:
    """The block at which sync last refreshed the member at ``address`` (None: no such member)."""
    with UnitOfWork.from_factory(sessions, read_only=True) as uow:
        return uow.session.scalar(select(Member.synced_block).where(Member.address == address))


def _complete_withdrawal(s: Session, ev: Event) -> None:
    """Match a mined ``Withdrawn`` event to the member's oldest open request of that amount and recipient,
    and record the transaction that completed it (the member sent it from its own wallet)."""
    address, amount, to = str(ev.args["member"]), int(ev.args["amount"]), str(ev.args["to"])
    rows = s.execute(
        select(SettlementTx.id, SettlementTx.amount, SettlementTx.payload)
        .join(Member, Member.id == SettlementTx.member_id)
        .where(
            Member.address == address,
            SettlementTx.kind == outbox.WITHDRAW,
            SettlementTx.state.in_((TxState.PLANNED, TxState.SENT)),
        )
        .order_by(SettlementTx.id)
    ).all()
    match = next((r.id for r in rows if r.amount == amount and (r.payload or {}).get("address", to) == to), None)
    if match is None:
        return
    outbox.complete_withdrawal(s, match, mined=True)
    row = s.get(SettlementTx, match)
    if row is not None:
        row.tx_hash, row.block = ev.tx_hash, ev.block
        name = s.scalar(select(Member.name).where(Member.address == address))
        if name is not None:
            data = {"withdrawal": match, "amount": str(amount), "to": to, "tx_hash": ev.tx_hash, "block": ev.block}
            publish_member_event(s, EventType.WITHDRAWAL_COMPLETED, name, data)
