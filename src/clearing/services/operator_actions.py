"""An operator's chain action, keyed by the operator's own request id: planned, audited, sent once.

Release modes of a committed cycle and the operator's calls on a tier-C
order share this shape. One ledger transaction plans the call in the outbox
(a ``settlement_txs`` row carrying the request, the contract call and the
state the chain must reach) and appends the audit-log entry, before anything
is sent; then ``Outbox.call`` sends exactly that row. Repeating a request id
with the same body returns the first result, or finishes sending it after a
crash; with another body it is a conflict (the client picks ids, so retries
are safe). Actions on one subject (a cycle, an order) run one at a time: a
new one is refused while another is in flight, so each ``done()`` compares
the chain with the state just before its own call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from clearing.adapters.chain.client import ContractClient
from clearing.adapters.chain.deploy import Contracts
from clearing.adapters.db.models import SettlementTx
from clearing.domain.vocabulary import TxState
from clearing.errors import ChainReverted, Conflict, ServiceUnavailable, ValidationError
from clearing.services import outbox
from clearing.services.audit_log import record_action
from clearing.services.context import ServiceContext
from clearing.services.outbox import call_args

#: Request ids: what a client may choose (printable, no spaces, bounded).
MAX_REQUEST_ID = 128


@dataclass(frozen=True, slots=True)
class ActionView:
    """One operator action and where it stands (``state``: planned, sent, mined or failed)."""

    id: str
    outbox_id: int
    kind: str
    state: str
    tx_hash: str | None
    block: int | None
    error: str | None
    request: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Subject:
    """What actions are keyed on: a cycle, or a tier-C order (its obligation's key; ``member_id`` its debtor).

    ``obligation_id`` is the order's obligation id as its submitter chose it: recorded with the action
    for people to read; the key (unique across members) is what actions are matched on.
    """

    kinds: tuple[str, ...]
    cycle_id: int | None = None
    obligation_id: str | None = None
    obligation_key: str | None = None
    member_id: int | None = None


@dataclass(frozen=True, slots=True)
class Call:
    """The contract call of an action, as stored on its row (JSON: amounts as decimal strings)."""

    kind: str
    fn: str
    args: list[Any]
    #: What the chain shows once the call is mined (read back by the action's ``done()``).
    expect: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Planned:
    """A planned (or found) action row: ``done`` is set when the request already finished."""

    outbox_id: int
    call: Call
    done: ActionView | None


def check_request_id(request_id: str) -> str:
    if not request_id or len(request_id) > MAX_REQUEST_ID or not request_id.isprintable() or " " in request_id:
        raise ValidationError(
            f"id must be 1..{MAX_REQUEST_ID} printable characters without spaces", field="id", id=request_id[:200]
        )
    return request_id


def view_of(row: SettlementTx) -> ActionView:
    payload = row.payload or {}
    return ActionView(
        id=str(payload.get("request_id", "")),
        outbox_id=row.id,
        kind=row.kind,
        state=row.state,
        tx_hash=row.tx_hash,
        block=row.block,
        error=row.error,
        request=dict(payload.get("request") or {}),
        created_at=row.created_at,
    )


def rows_of(s: Session, subject: Subject) -> list[SettlementTx]:
    """Every action row of a subject, oldest first."""
    q = select(SettlementTx).where(SettlementTx.kind.in_(subject.kinds)).order_by(SettlementTx.id)
    if subject.cycle_id is not None:
        q = q.where(SettlementTx.cycle_id == subject.cycle_id)
    if subject.member_id is not None:
        q = q.where(SettlementTx.member_id == subject.member_id)
    rows = s.scalars(q).all()
    if subject.obligation_key is not None:
        rows = [r for r in rows if (r.payload or {}).get("obligation_key") == subject.obligation_key]
    return list(rows)


def _call_of(row: SettlementTx) -> Call:
    p = row.payload or {}
    return Call(kind=row.kind, fn=str(p["fn"]), args=list(p["args"]), expect=dict(p.get("expect") or {}))


def find(s: Session, subject: Subject, request_id: str, request: dict[str, Any]) -> Planned | None:
    """The action already recorded under ``request_id`` (None: a new request).

    Raises Conflict when the id was used with another body, or when another
    action on the subject is still in flight (repeat that one first).
    """
    rows = rows_of(s, subject)
    for row in rows:
        if (row.payload or {}).get("request_id") != request_id:
            continue
        if (row.payload or {}).get("request") != request:
            raise Conflict(f"request id {request_id!r} was used before for another request", field="id", id=request_id)
        finished = row.state in (TxState.MINED, TxState.FAILED)
        return Planned(row.id, _call_of(row), view_of(row) if finished else None)
    busy = next((r for r in rows if r.state in (TxState.PLANNED, TxState.SENT)), None)
    if busy is not None:
        other = (busy.payload or {}).get("request_id")
        raise Conflict(
            f"action {other!r} on this {'cycle' if subject.cycle_id is not None else 'order'} is still in flight: "
            "repeat that request until it is mined or failed",
            field="id",
            in_flight=other,
        )
    return None


def plan(
    s: Session,
    subject: Subject,
    *,
    request_id: str,
    request: dict[str, Any],
    call: Call,
    actor: str,
    action: str,
    extra: dict[str, Any] | None = None,
) -> Planned:
    """Record a new action (outbox row and audit-log entry) in the caller's unit of work."""
    item = outbox.plan(
        s,
        call.kind,
        cycle_id=subject.cycle_id,
        member_id=subject.member_id,
        payload={
            "request_id": request_id,
            "request": request,
            "fn": call.fn,
            "args": call.args,
            "expect": call.expect,
            **(_order_of(subject) if subject.obligation_key is not None else {}),
            **(extra or {}),
        },
    )
    subject_key = (
        {"cycle": subject.cycle_id}
        if subject.cycle_id is not None
        else {"obligation": subject.obligation_id, "obligation_key": subject.obligation_key}
    )
    record_action(s, actor, action, {**subject_key, "id": request_id, "request": request, "outbox_id": item.id})
    return Planned(item.id, call, None)


def _order_of(subject: Subject) -> dict[str, Any]:
    """How an order action's outbox row names its order: the key it is matched on, and the id people read."""
    return {"obligation_id": subject.obligation_id, "obligation_key": subject.obligation_key}


def send(ctx: ServiceContext, client: ContractClient, planned: Planned, done: Callable[[], bool]) -> ActionView:
    """Send a planned action (or finish one a crash interrupted); its row as it ends.

    A revert (the chain changed since the checks, e.g. a creditor claimed)
    fails the action for good: 409, and a new request id may try again. A
    chain that cannot be reached leaves it planned: repeat the request.
    """
    if planned.done is not None:
        return planned.done
    try:
        ctx.outbox.call(
            client,
            planned.call.fn,
            call_args(planned.call.args),
            kind=planned.call.kind,
            done=done,
            row_id=planned.outbox_id,
        )
    except ChainReverted as exc:
        outbox.update_tx(ctx.sessions, planned.outbox_id, state=TxState.FAILED, error=f"reverted: {exc.message}")
        raise Conflict(
            f"the chain refused the call: {exc.message}", field=None, error=exc.error, outbox_id=planned.outbox_id
        ) from exc
    with ctx.uow(read_only=True) as uow:
        row = uow.session.get(SettlementTx, planned.outbox_id)
        assert row is not None
        return view_of(row)


def require_chain(ctx: ServiceContext) -> Contracts:
    """The deployed contracts, or 503: operator actions happen on chain."""
    if ctx.contracts is None:
        raise ServiceUnavailable("this server has no chain: operator actions on chain are not available", field=None)
    return ctx.contracts
