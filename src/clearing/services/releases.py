"""Release modes: a cycle the operator commits into escrow and releases itself.

``settle`` settles a cycle in one call (``settleCycle``): creditors are paid
at once. When the operator wants to pay later or in part, it ``commit``s
the cycle instead (close → net → ``commitCycle``): each debtor's net debit
moves into the cycle's escrow and each creditor's net credit waits there.
Then, in any order and as often as needed, until the escrow is empty:

* ``release``: every creditor's whole pending credit, or chosen amounts per creditor;
* ``release_pro_rata``: the same share (basis points) of each creditor's pending credit;
* ``hold``: nothing can be released or claimed before a time;
* ``refund``: pending credit is cancelled and returned to debtors (all that
  is left, split by what each paid in, or chosen amounts).

Creditors may also ``claim`` their pending credit themselves once the
contract's claim delay has passed, so nothing stays stuck. Each action is an
operator action (``services/operator_actions.py``): audited, keyed by the
operator's request id, sent once through the outbox. When the escrow is
empty the cycle ends SETTLED, or REFUNDED if nothing was released
(``services/escrow_outcome.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from eth_utils.address import is_hex_address, to_checksum_address
from sqlalchemy import select
from sqlalchemy.orm import Session

from clearing.adapters.chain.client import ClearingHouseClient
from clearing.adapters.db.models import Cycle, CyclePosition, Member
from clearing.domain.release import check_amounts, check_refund, pro_rata_shares, refund_split
from clearing.domain.vocabulary import CycleState
from clearing.errors import Conflict, NotFound, ReleaseRefused, ServiceUnavailable
from clearing.services import chain_sync, operator_actions, outbox
from clearing.services.audit_log import record_action
from clearing.services.context import ServiceContext
from clearing.services.cycles import CycleService, CycleView
from clearing.services.escrow_outcome import OPERATOR_RELEASE, operator_released
from clearing.services.keys import Principal
from clearing.services.operator_actions import ActionView, Call, Subject
from clearing.services.outbox import json_args

#: Outbox kinds of the actions on a cycle.
CYCLE_ACTIONS = (outbox.CYCLE_RELEASE, outbox.CYCLE_RELEASE_PRO_RATA, outbox.CYCLE_HOLD, outbox.CYCLE_REFUND)


@dataclass(frozen=True, slots=True)
class EscrowView:
    """A cycle's escrow as the chain holds it, with the operator's actions on it."""

    cycle_id: int
    state: str
    #: "operator" (committed into escrow for the operator) or "auto" (released at once).
    release: str
    escrowed: int
    #: Unix seconds; 0 when never held.
    held_until: int
    claimable_at: int
    #: The chain's clock (latest block), against which holds and claims are judged.
    chain_time: int
    #: Creditor name -> credit still pending in the escrow.
    pending: dict[str, int]
    #: Debtor name -> what it paid in and could still get back by a refund.
    refundable: dict[str, int]
    actions: tuple[ActionView, ...]


@dataclass(frozen=True, slots=True)
class ActionResult:
    action: ActionView
    escrow: EscrowView


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """The escrow just before an action: by address, and the ledger's names for them."""

    pending: dict[str, int]
    debits: dict[str, int]
    held_until: int
    now: int
    names: dict[str, str]
    #: The cycle's net deltas by address, as committed (refunds repeat them).
    deltas: dict[str, int]


def _cycles(ctx: ServiceContext) -> CycleService:
    if ctx.cycles is None:
        raise ServiceUnavailable("cycle settlement is not configured on this server (no chain)", field=None)
    return ctx.cycles


def _deltas(s: Session, cycle_id: int) -> dict[str, int]:
    return dict(
        s.execute(
            select(Member.address, CyclePosition.net_delta)
            .join(Member, Member.id == CyclePosition.member_id)
            .where(CyclePosition.cycle_id == cycle_id)
        ).all()
    )


def _snapshot(s: Session, house: ClearingHouseClient, cycle_id: int) -> _Snapshot:
    deltas = _deltas(s, cycle_id)
    on_chain = house.cycle(cycle_id)
    names = dict(s.execute(select(Member.address, Member.name).where(Member.address.in_(list(deltas)))).all())
    return _Snapshot(
        pending={a: house.pending_credit(cycle_id, a) for a, d in sorted(deltas.items()) if d > 0},
        debits={a: -d - house.refunded_debit(cycle_id, a) for a, d in sorted(deltas.items()) if d < 0},
        deltas=deltas,
        held_until=on_chain.held_until,
        now=house.chain.timestamp(),
        names=names,
    )


# ---------------------------------------------------------------------------------------------- commit and read
def commit(ctx: ServiceContext, actor: Principal, cycle_id: int) -> CycleView:
    """Close, net and commit a cycle into escrow, for the operator to release (idempotent).

    The choice is recorded on the cycle before anything is sent, so a crash,
    a restart or a scheduled cut-off finishing the cycle commits it the same
    way and never releases it.
    """
    cycles = _cycles(ctx)
    with ctx.uow() as uow:
        s = uow.session
        cycle = s.get(Cycle, cycle_id, with_for_update=True)
        if cycle is None:
            raise NotFound(f"cycle {cycle_id} not found", field="cycle_id")
        if not operator_released(cycle):
            if cycle.state not in (CycleState.OPEN, CycleState.CLOSED, CycleState.NETTED):
                raise Conflict(
                    f"cycle {cycle_id} is {cycle.state}: only a cycle not yet committed can be committed into "
                    "escrow for the operator",
                    field="cycle_id",
                    state=cycle.state,
                )
            cycle.detail = {**(cycle.detail or {}), "release": OPERATOR_RELEASE}
            record_action(s, actor.actor, "cycle.commit", {"cycle": cycle_id})
            uow.commit()
    return cycles.settle(cycle_id)


def escrow(ctx: ServiceContext, cycle_id: int) -> EscrowView:
    """The cycle's escrow on chain (pending credit, refundable debit, hold) and the actions taken on it."""
    c = operator_actions.require_chain(ctx)
    with ctx.uow(read_only=True) as uow:
        s = uow.session
        cycle = s.get(Cycle, cycle_id)
        if cycle is None:
            raise NotFound(f"cycle {cycle_id} not found", field="cycle_id")
        snap = _snapshot(s, c.house, cycle_id)
        actions = tuple(
            operator_actions.view_of(r)
            for r in operator_actions.rows_of(s, Subject(kinds=CYCLE_ACTIONS, cycle_id=cycle_id))
        )
        on_chain = c.house.cycle(cycle_id)
        return EscrowView(
            cycle_id=cycle_id,
            state=cycle.state,
            release=OPERATOR_RELEASE if operator_released(cycle) else "auto",
            escrowed=on_chain.escrowed,
            held_until=on_chain.held_until,
            claimable_at=on_chain.claimable_at,
            chain_time=snap.now,
            pending={snap.names.get(a, a): v for a, v in snap.pending.items()},
            refundable={snap.names.get(a, a): v for a, v in snap.debits.items()},
            actions=actions,
        )


# ---------------------------------------------------------------------------------------------- actions
def release(
    ctx: ServiceContext,
    actor: Principal,
    cycle_id: int,
    *,
    request_id: str | None = None,
    amounts: Mapping[str, int] | None = None,
) -> ActionResult:
    """Pay creditors out of the escrow: all their pending credit, or ``amounts`` (member name or address → units).

    Without amounts the request id may be left out (releasing everything is
    naturally idempotent); with amounts it is required.
    """
    if amounts is not None and request_id is None:
        raise ReleaseRefused("a partial release needs an id (the client's idempotency key)", field="id")

    def build(snap: _Snapshot, wanted: dict[str, int] | None) -> Call:
        _not_held(snap, cycle_id)
        chosen = wanted if wanted is not None else {a: v for a, v in snap.pending.items() if v > 0}
        if not chosen:
            raise Conflict(f"cycle {cycle_id} has no pending credit to release", field="cycle_id")
        check_amounts(chosen, snap.pending, field="amounts", what="pending credit")
        creditors = sorted(chosen, key=lambda a: int(a, 16))
        after = {a: snap.pending[a] - chosen[a] for a in creditors}
        args = [cycle_id, creditors, [chosen[a] for a in creditors]]
        return Call(outbox.CYCLE_RELEASE, "releaseCycle", json_args(args), {"pending": _strs(after)})

    return _act(
        ctx,
        actor,
        cycle_id,
        request_id=request_id or "release-all",
        member_amounts={"amounts": amounts} if amounts is not None else {},
        request={"mode": "partial" if amounts is not None else "full"},
        action="cycle.release" if amounts is None else "cycle.release_partial",
        build=lambda snap, resolved: build(snap, resolved.get("amounts")),
    )


def release_pro_rata(
    ctx: ServiceContext,
    actor: Principal,
    cycle_id: int,
    *,
    request_id: str,
    bps: int,
    creditors: list[str] | None = None,
) -> ActionResult:
    """Pay each creditor (or the listed ones) ``floor(pending × bps / 10000)`` of its pending credit."""

    def build(snap: _Snapshot, resolved: dict[str, dict[str, int]]) -> Call:
        _not_held(snap, cycle_id)
        chosen = resolved.get("creditors")
        listed = {a: snap.pending.get(a, 0) for a in chosen} if chosen is not None else dict(snap.pending)
        shares = pro_rata_shares(listed, bps)
        if not shares:
            raise Conflict(f"{bps} bps of the pending credit of cycle {cycle_id} releases nothing", field="bps")
        order = sorted(shares, key=lambda a: int(a, 16))
        after = {a: snap.pending[a] - shares[a] for a in order}
        args = [cycle_id, order, bps]
        return Call(outbox.CYCLE_RELEASE_PRO_RATA, "releaseCycleProRata", json_args(args), {"pending": _strs(after)})

    return _act(
        ctx,
        actor,
        cycle_id,
        request_id=request_id,
        member_amounts={"creditors": dict.fromkeys(creditors, 0)} if creditors is not None else {},
        request={"mode": "pro_rata", "bps": bps},
        action="cycle.release_pro_rata",
        build=build,
    )


def hold(
    ctx: ServiceContext, actor: Principal, cycle_id: int, *, until: datetime, request_id: str | None = None
) -> ActionResult:
    """Block release and claims of the escrow until ``until`` (refunds stay possible); a later hold replaces it."""
    if until.tzinfo is None:
        raise ReleaseRefused("until needs a time zone (e.g. 2030-01-31T12:00:00Z)", field="until")
    at = int(until.timestamp())
    max_hold = operator_actions.require_chain(ctx).house.max_hold_period()

    def build(snap: _Snapshot, _: dict[str, dict[str, int]]) -> Call:
        if not snap.now < at <= snap.now + max_hold:
            raise ReleaseRefused(
                f"until must be after the chain's now ({_iso(snap.now)}) and at most {max_hold} s later",
                field="until",
                chain_time=_iso(snap.now),
                latest=_iso(snap.now + max_hold),
            )
        return Call(outbox.CYCLE_HOLD, "holdCycle", json_args([cycle_id, at]), {"held_until": str(at)})

    return _act(
        ctx,
        actor,
        cycle_id,
        request_id=request_id or f"hold-{at}",
        member_amounts={},
        request={"mode": "hold", "until": _iso(at)},
        action="cycle.hold",
        build=build,
    )


def refund(
    ctx: ServiceContext,
    actor: Principal,
    cycle_id: int,
    *,
    request_id: str | None = None,
    cancel: Mapping[str, int] | None = None,
    refund: Mapping[str, int] | None = None,
) -> ActionResult:
    """Cancel pending credit and return the same total to debtors.

    Without ``cancel``/``refund``: everything still pending, returned to
    debtors in proportion to what each paid in (exact, largest remainder);
    the request id may then be left out. With them: both are required, and
    so is the id.
    """
    if (cancel is None) != (refund is None):
        raise ReleaseRefused("give both cancel and refund, or neither (refund everything left)", field="refund")
    if cancel is not None and request_id is None:
        raise ReleaseRefused("a chosen refund needs an id (the client's idempotency key)", field="id")

    def build(snap: _Snapshot, resolved: dict[str, dict[str, int]]) -> Call:
        if "cancel" in resolved:
            cancelled, returned = resolved["cancel"], resolved["refund"]
        else:
            cancelled = {a: v for a, v in snap.pending.items() if v > 0}
            if not cancelled:
                raise Conflict(f"cycle {cycle_id} has no pending credit to refund", field="cycle_id")
            returned = refund_split(sum(cancelled.values()), snap.debits)
        check_refund(cancelled, returned, snap.pending, snap.debits)
        args = list(operator_actions.require_chain(ctx).house.refund_args(cycle_id, snap.deltas, cancelled, returned))
        committed = {a: -d for a, d in snap.deltas.items() if d < 0}
        expect = {
            "pending": _strs({a: snap.pending[a] - v for a, v in cancelled.items()}),
            # refundedDebit only grows: the refund is on chain once each debtor's reaches this.
            "refunded": _strs({a: committed[a] - snap.debits[a] + v for a, v in returned.items()}),
        }
        return Call(outbox.CYCLE_REFUND, "refundCycle", json_args(args), expect)

    chosen = {"cancel": cancel, "refund": refund} if cancel is not None and refund is not None else {}
    return _act(
        ctx,
        actor,
        cycle_id,
        request_id=request_id or "refund-all",
        member_amounts=chosen,
        request={"mode": "refund" if chosen else "refund_all"},
        action="cycle.refund",
        build=build,
    )


# ---------------------------------------------------------------------------------------------- the one shape
def _act(
    ctx: ServiceContext,
    actor: Principal,
    cycle_id: int,
    *,
    request_id: str,
    member_amounts: Mapping[str, Mapping[str, int]],
    request: dict[str, object],
    action: str,
    build: Callable[[_Snapshot, dict[str, dict[str, int]]], Call],
) -> ActionResult:
    """Find or plan the action (cycle row locked: actions on a cycle run one at a time), send it, sync.

    ``member_amounts`` are maps keyed by member name or address; they reach
    ``build`` keyed by address and are stored in the request by name.
    """
    c = operator_actions.require_chain(ctx)
    operator_actions.check_request_id(request_id)
    subject = Subject(kinds=CYCLE_ACTIONS, cycle_id=cycle_id)
    with ctx.uow() as uow:
        s = uow.session
        cycle = s.get(Cycle, cycle_id, with_for_update=True)
        if cycle is None:
            raise NotFound(f"cycle {cycle_id} not found", field="cycle_id")
        resolved, by_name = _resolve(s, member_amounts)
        full_request = {**{k: sorted(v) if k == "creditors" else _strs(v) for k, v in by_name.items()}, **request}
        planned = operator_actions.find(s, subject, request_id, full_request)
        if planned is None:
            _require_escrow(cycle)
            call = build(_snapshot(s, c.house, cycle_id), resolved)
            planned = operator_actions.plan(
                s, subject, request_id=request_id, request=full_request, call=call, actor=actor.actor, action=action
            )
            uow.commit()
    view = operator_actions.send(
        ctx, c.house, planned, outbox.cycle_action_done(c.house, cycle_id, planned.call.expect)
    )
    chain_sync.sync(ctx.sessions, c)  # the members' mirror, and the cycle's end once its escrow is empty
    return ActionResult(view, escrow(ctx, cycle_id))


def _resolve(
    s: Session, maps: Mapping[str, Mapping[str, int]]
) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
    """Member maps keyed by name or address → (keyed by address, keyed by name); 422 names an unknown member."""
    members = list(s.scalars(select(Member)))
    by_name = {m.name: m for m in members}
    by_address = {m.address: m for m in members}
    by_addr_out: dict[str, dict[str, int]] = {}
    by_name_out: dict[str, dict[str, int]] = {}
    for field, values in maps.items():
        by_addr_out[field], by_name_out[field] = {}, {}
        for key, amount in values.items():
            m = by_name.get(key)
            if m is None and is_hex_address(key):
                m = by_address.get(to_checksum_address(key))
            if m is None:
                raise ReleaseRefused(f"{field}.{key}: no such member", field=f"{field}.{key}")
            if m.address in by_addr_out[field]:
                raise ReleaseRefused(f"{field}.{key}: {m.name} is listed twice", field=f"{field}.{key}")
            by_addr_out[field][m.address] = amount
            by_name_out[field][m.name] = amount
    return by_addr_out, by_name_out


def _require_escrow(cycle: Cycle) -> None:
    if not operator_released(cycle):
        raise Conflict(
            f"cycle {cycle.id} is not committed for the operator to release: "
            f"POST /cycles/{cycle.id}/commit first (it is {cycle.state})",
            field="cycle_id",
            state=cycle.state,
        )
    if cycle.state != CycleState.COMMITTED:
        raise Conflict(
            f"cycle {cycle.id} is {cycle.state}: release modes act on a COMMITTED cycle's escrow",
            field="cycle_id",
            state=cycle.state,
        )


def _not_held(snap: _Snapshot, cycle_id: int) -> None:
    if snap.now < snap.held_until:
        raise Conflict(
            f"cycle {cycle_id} is held until {_iso(snap.held_until)}: nothing can be released before",
            field="cycle_id",
            held_until=_iso(snap.held_until),
        )


def _strs(values: Mapping[str, int]) -> dict[str, str]:
    return {k: str(v) for k, v in values.items()}


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")
