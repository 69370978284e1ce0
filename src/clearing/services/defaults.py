"""Member defaults: declared (by the operator with a reason, or by the scan after the grace period),
covered by the waterfall on chain, cured once the member has repaid everything.

A member is in default when it has not repaid drawn credit by its deadline, or cannot cover a cycle
debit, for longer than ``defaults.grace_days`` (:func:`scan`, run by the scheduler in the chain writer's
process), or when an operator says so (:func:`declare`). One ledger transaction records the default
(``member_defaults``), suspends the member in the ledger (new obligations with it as debtor are held by
the ``member-suspended`` rule), closes its open drawings of credit (the declaration is what the score
counts), plans ``declareDefault`` then ``allocateDefaultLoss`` in the outbox (the latter naming the
committed cycles in which the member has credit pending: step 3 takes them), ends an operator's pin of
its tier or line, writes the audit log, opens the ``member_defaulted`` alerts (the member's and the
operator's) and publishes ``member.defaulted``. After the commit the rows are sent (oldest first, so the
allocation follows the declaration), chain sync writes what the chain's events say onto the row (the
balance declared, each waterfall step, the write-down; ``services/default_events.py``), and the member
is rescored: tier C, no line.

:func:`cure` restores a member the chain shows repaid (balance ≥ 0 and nothing owed to the pool: a
defaulter repays by depositing from its own wallet, and a deposit repays the lenders first): the row is
closed, ``cureDefault`` planned, the member active again, the alerts resolved, ``member.cured``
published, its ``member-suspended`` holds re-evaluated. The default stays on its record.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from clearing.adapters.chain.client import reason_bytes32
from clearing.adapters.db.member_defaults import STEP_NAMES, MemberDefault, active_defaults
from clearing.adapters.db.models import CreditDraw, Cycle, CyclePosition, Member, Obligation, SettlementTx
from clearing.domain.alerts import AlertKind, Condition, defaulted, liquidator_short
from clearing.domain.vocabulary import CycleState, EventType, MemberStatus, Role, Route, TxState
from clearing.domain.vocabulary import ObligationStatus as S
from clearing.errors import Conflict, NotFound, ServiceUnavailable, ValidationError
from clearing.services import alerts, chain_sync, credit, holds, outbox
from clearing.services.audit_log import record_action
from clearing.services.context import ServiceContext
from clearing.services.credit import draws, overrides
from clearing.services.default_calls import ALLOCATE_DEFAULT_LOSS, CURE_DEFAULT, DECLARE_DEFAULT
from clearing.services.keys import Principal
from clearing.services.webhooks.events import publish_member_event

log = logging.getLogger(__name__)

REPAYMENT_DEADLINE, CYCLE_DEBIT, OPERATOR = "repayment_deadline", "cycle_debit", "operator"
#: Why a default was declared.
TRIGGERS = (REPAYMENT_DEADLINE, CYCLE_DEBIT, OPERATOR)
#: Who the audit log names for a default the scan declared.
SYSTEM = "system:defaults"
#: The reason code ``cureDefault`` records on chain (the operator's reason stays in the ledger).
CURED = "repaid"
#: Obligations as debtor that wait for a cycle because headroom could not cover them.
_CARRIED = (S.CARRIED, S.QUEUED_BEYOND_HEADROOM)
_BLANK = " \t\n\r"
_AMOUNTS = ("balance_at_declaration", "loss", "written_down", "recovered")


@dataclass(frozen=True, slots=True)
class DefaultView:
    """One default and where it stands.

    ``state``: ``declaring`` (``declareDefault`` not mined yet), ``allocating`` (declared on chain, the
    waterfall not yet), ``allocated``, ``curing`` (cure recorded, ``cureDefault`` not mined) or ``cured``.
    """

    id: int
    member: str
    state: str
    trigger: str
    reason: str
    declared_at: datetime
    declared_by: str
    #: The balance the chain declared it with (the ledger's mirror until the event is seen).
    balance_at_declaration: int
    cycle_ids: tuple[int, ...]
    #: Step name → what it covered, from the chain's events (empty until the allocation is seen).
    steps: dict[str, int]
    loss: int | None
    written_down: int | None
    recovered: int
    allocated_at: datetime | None
    cured_at: datetime | None
    cured_by: str | None
    cure_reason: str | None
    declare_tx: str | None
    allocate_tx: str | None
    cure_tx: str | None
    #: Outbox row kind → its state (planned, sent, mined, failed).
    outbox: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (amounts as decimal strings, times as ISO 8601): the record a 409 carries."""
        out: dict[str, Any] = {}
        for k, v in asdict(self).items():
            if isinstance(v, datetime):
                v = v.isoformat()
            elif k in _AMOUNTS and v is not None:
                v = str(v)
            elif k == "steps":
                v = {n: str(a) for n, a in v.items()}
            out[k] = list(v) if isinstance(v, tuple) else v
        return out


# --------------------------------------------------------------------------- reading


def _state(row: MemberDefault, tx: dict[str, str]) -> str:
    if row.cured_at is not None:
        return "cured" if tx.get(CURE_DEFAULT) == TxState.MINED else "curing"
    if tx.get(ALLOCATE_DEFAULT_LOSS) == TxState.MINED or row.written_down is not None:
        return "allocated"
    return "allocating" if tx.get(DECLARE_DEFAULT) == TxState.MINED or row.declare_tx else "declaring"


def _views(s: Session, rows: Sequence[MemberDefault]) -> list[DefaultView]:
    ids = [i for r in rows for i in (r.declare_outbox_id, r.allocate_outbox_id, r.cure_outbox_id) if i is not None]
    states = dict(s.execute(select(SettlementTx.id, SettlementTx.state).where(SettlementTx.id.in_(ids))).all())
    names = dict(s.execute(select(Member.id, Member.name).where(Member.id.in_({r.member_id for r in rows}))).all())
    out = []
    for r in rows:
        tx = {
            kind: str(states[i])
            for kind, i in (
                (DECLARE_DEFAULT, r.declare_outbox_id),
                (ALLOCATE_DEFAULT_LOSS, r.allocate_outbox_id),
                (CURE_DEFAULT, r.cure_outbox_id),
            )
            if i is not None and i in states
        }
        steps = {n: int((r.steps or {})[n]) for n in STEP_NAMES.values() if n in (r.steps or {})}
        out.append(
            DefaultView(
                id=r.id,
                member=names[r.member_id],
                state=_state(r, tx),
                trigger=r.trigger,
                reason=r.reason,
                declared_at=r.declared_at,
                declared_by=r.declared_by,
                balance_at_declaration=r.balance_at_declaration,
                cycle_ids=tuple(int(c) for c in r.cycle_ids or ()),
                steps=steps,
                loss=r.loss,
                written_down=r.written_down,
                recovered=r.recovered,
                allocated_at=r.allocated_at,
                cured_at=r.cured_at,
                cured_by=r.cured_by,
                cure_reason=r.cure_reason,
                declare_tx=r.declare_tx,
                allocate_tx=r.allocate_tx,
                cure_tx=r.cure_tx,
                outbox=tx,
            )
        )
    return out


def get(ctx: ServiceContext, default_id: int) -> DefaultView:
    with ctx.uow(read_only=True) as uow:
        row = uow.session.get(MemberDefault, default_id)
        if row is None:
            raise NotFound(f"no default {default_id}", field="default_id")
        return _views(uow.session, [row])[0]


def list_defaults(ctx: ServiceContext, *, active: bool = False, limit: int = 500) -> list[DefaultView]:
    """Every default, newest first (``active``: members in default now)."""
    q = select(MemberDefault).order_by(MemberDefault.id.desc()).limit(limit)
    if active:
        q = q.where(MemberDefault.cured_at.is_(None))
    with ctx.uow(read_only=True) as uow:
        return _views(uow.session, list(uow.session.scalars(q)))


def of_member(ctx: ServiceContext, who: Principal, name: str | None = None) -> DefaultView:
    """A member's newest default (404: never in default). A member key reads its own (``name`` ignored)."""
    with ctx.uow(read_only=True) as uow:
        s = uow.session
        if who.role == Role.MEMBER:
            member_id, shown = who.member_id, "you have"
        else:
            member_id, shown = _member(s, name or "").id, f"{name} has"
        row = s.scalars(
            select(MemberDefault).where(MemberDefault.member_id == member_id).order_by(MemberDefault.id.desc())
        ).first()
        if row is None:
            raise NotFound(f"{shown} never been in default", field="name")
        return _views(s, [row])[0]


def _member(s: Session, name: str, *, lock: bool = False) -> Member:
    q = select(Member).where(Member.name == name)
    m = s.scalars(q.with_for_update() if lock else q).first()
    if m is None:
        raise NotFound(f"no member {name!r}", field="name", name=name)
    return m


# --------------------------------------------------------------------------- declaring


def _check(reason: str, trigger: str | None = None) -> None:
    if not reason.strip(_BLANK):
        raise ValidationError("reason must not be blank", field="reason")
    if trigger is not None and trigger not in TRIGGERS:
        raise ValidationError(f"trigger must be one of {', '.join(TRIGGERS)}", field="trigger", trigger=trigger)


def declare(ctx: ServiceContext, member: str, reason: str, trigger: str, actor: str) -> DefaultView:
    """Declare ``member`` in default (see the module); 409 with the existing record if it already is."""
    _check(reason, trigger)
    now = ctx.clock()
    with ctx.uow() as uow:
        s = uow.session
        m = _member(s, member, lock=True)
        existing = active_defaults(s, [m.id]).get(m.id)
        if existing is not None:
            view = _views(s, [existing])[0]
            raise Conflict(
                f"{member} is already in default (declared {view.declared_at.isoformat()}, {view.state})",
                field="name",
                default=view.to_dict(),
            )
        row, items = _declare_in(ctx, s, m, reason, trigger, actor, now)
        uow.commit()
        default_id, member_id = row.id, m.id
    _after(ctx, items, member_id)
    return get(ctx, default_id)


def _declare_in(
    ctx: ServiceContext, s: Session, m: Member, reason: str, trigger: str, actor: str, now: datetime
) -> tuple[MemberDefault, list[outbox.OutboxItem]]:
    """Record the default and everything that goes with it, in the caller's unit of work."""
    cycles = _receivable_cycles(ctx, s, m)
    row = MemberDefault(
        member_id=m.id,
        declared_at=now,
        reason=reason,
        trigger=trigger,
        declared_by=actor,
        balance_at_declaration=m.chain_balance,
        cycle_ids=cycles,
        steps={},
        recovered=0,
    )
    s.add(row)
    s.flush()
    common = {"default_id": row.id, "trigger": trigger}
    declared = outbox.plan(
        s,
        DECLARE_DEFAULT,
        member_id=m.id,
        payload={**common, "fn": "declareDefault", "args": outbox.json_args([m.address, reason_bytes32(trigger)])},
    )
    allocation = outbox.plan(
        s,
        ALLOCATE_DEFAULT_LOSS,
        member_id=m.id,
        payload={**common, "fn": "allocateDefaultLoss", "args": outbox.json_args([m.address, cycles])},
    )
    row.declare_outbox_id, row.allocate_outbox_id = declared.id, allocation.id
    m.status, m.status_reason = MemberStatus.SUSPENDED, f"in default ({trigger}): {reason}"[:512]
    closed = draws.close_defaulted(s, m.id)
    pinned = overrides.in_force(s, now, [m.id]).get(m.id)
    if pinned is not None:  # a pin granted before the default must not give credit back at the cure
        overrides.end(s, m, actor, reason=f"declared in default: {reason}"[:512], now=now)
    record_action(
        s,
        actor,
        "member.default",
        {
            "member": m.name,
            "default": row.id,
            "trigger": trigger,
            "reason": reason,
            "balance": m.chain_balance,
            "cycles": cycles,
            "drawings_closed": closed,
            "outbox": [declared.id, allocation.id],
        },
    )
    args = (m.name, trigger, reason, m.chain_balance)
    house_alerts = [defaulted(*args, house=True), *_liquidator_short(ctx, m)]
    alerts.raise_now(s, now, {m.id: [defaulted(*args, house=False)], alerts.HOUSE: house_alerts})
    publish_member_event(
        s,
        EventType.MEMBER_DEFAULTED,
        m.name,
        {
            "default": row.id,
            "trigger": trigger,
            "reason": reason,
            "balance": str(m.chain_balance),
            "declared_at": now.isoformat(),
            "cycles": cycles,
        },
    )
    return row, [declared, allocation]


def _liquidator_short(ctx: ServiceContext, m: Member) -> list[Condition]:
    """Step 2 sells the defaulter's pledges to the liquidator at their valuation, pulled with transferFrom:
    if it cannot pay (balance or allowance to the house), the allocation reverts. Say so at once rather than
    leave the outbox retrying it."""
    c = ctx.contracts
    if c is None or c.vault is None:
        return []
    value = c.vault.seizable_value_of(m.address)
    if value == 0:
        return []
    _, liquidator = c.house.asset_vault()
    can_pay = min(c.token.balance_of(liquidator), c.token.allowance(liquidator, c.house.address))
    return [liquidator_short(m.name, liquidator, value, can_pay)] if can_pay < value else []


def _receivable_cycles(ctx: ServiceContext, s: Session, m: Member) -> list[int]:
    """Committed cycles (not settled) in which the member is owed credit: what step 3 may take.

    The ledger names the cycles where its net position was positive; with a chain, only those where
    it still has credit pending (a partial release may have paid it already).
    """
    rows = s.execute(
        select(CyclePosition.cycle_id, CyclePosition.net_delta)
        .join(Cycle, Cycle.id == CyclePosition.cycle_id)
        .where(CyclePosition.member_id == m.id, Cycle.state == CycleState.COMMITTED)
        .order_by(CyclePosition.cycle_id)
    ).all()
    ids = [int(cid) for cid, delta in rows if delta > 0]  # amounts are text on SQLite: compared here
    if ctx.contracts is None:
        return ids
    house = ctx.contracts.house
    return [cid for cid in ids if house.pending_credit(cid, m.address) > 0]


def _after(ctx: ServiceContext, items: list[outbox.OutboxItem], member_id: int) -> None:
    """After the commit: send the rows here if this process is the chain writer (another worker answers at once,
    202, and the writer's loop sends them), index their events, rescore the member."""
    if ctx.outbox.is_writer():
        ctx.outbox.dispatch(items)
    if ctx.contracts is not None and ctx.outbox.writes_here():
        try:
            chain_sync.sync(ctx.sessions, ctx.contracts)
        except Exception:  # the scheduler's sync indexes them later
            log.exception("chain sync after a default's chain calls failed")
    credit.rescore(ctx, trigger="default", member_ids=[member_id])


# --------------------------------------------------------------------------- curing


def cure(ctx: ServiceContext, member: str, reason: str, actor: str) -> DefaultView:
    """Restore a member in default that the chain shows repaid (see the module); 409 otherwise."""
    _check(reason)
    if ctx.contracts is None:
        raise ServiceUnavailable("a cure reads the chain: this server has no chain", field=None)
    house, now = ctx.contracts.house, ctx.clock()
    with ctx.uow() as uow:
        s = uow.session
        m = _member(s, member, lock=True)
        row = active_defaults(s, [m.id]).get(m.id)
        if row is None:
            raise Conflict(f"{member} is not in default", field="name")
        view = _views(s, [row])[0]
        if view.state != "allocated":
            raise Conflict(f"{member}'s default is {view.state}: its waterfall has not run on chain yet", field="name")
        state = house.member(m.address)
        if state.balance < 0 or state.owed_to_pool > 0:
            raise Conflict(
                f"{member} has not repaid: balance {state.balance}, owed to the pool {state.owed_to_pool}; "
                f"it deposits {max(0, -state.balance) + state.owed_to_pool} from its own wallet first",
                field="name",
                balance=state.balance,
                owed_to_pool=state.owed_to_pool,
            )
        row.cured_at, row.cured_by, row.cure_reason = now, actor, reason
        args = outbox.json_args([m.address, reason_bytes32(CURED)])
        item = outbox.plan(
            s, CURE_DEFAULT, member_id=m.id, payload={"default_id": row.id, "fn": "cureDefault", "args": args}
        )
        row.cure_outbox_id = item.id
        m.status, m.status_reason = MemberStatus.ACTIVE, f"cured: {reason}"[:512]
        record_action(
            s, actor, "member.cure", {"member": member, "default": row.id, "reason": reason, "outbox": item.id}
        )
        kind = AlertKind.MEMBER_DEFAULTED.value
        keys = [(m.id, kind, kind), (alerts.HOUSE, kind, f"default:{member}")]
        alerts.clear_now(s, now, keys, by=actor, reason=f"cured: {reason}"[:1024])
        publish_member_event(
            s, EventType.MEMBER_CURED, member, {"default": row.id, "reason": reason, "cured_at": now.isoformat()}
        )
        uow.commit()
        default_id, member_id = row.id, m.id
    _after(ctx, [item], member_id)
    holds.release_resumed(ctx, member_id)
    return get(ctx, default_id)


def in_default(s: Session, member_id: int) -> bool:
    """Whether the member is in default now (a resume must wait for its cure)."""
    return member_id in active_defaults(s, [member_id])


# --------------------------------------------------------------------------- the scan


@dataclass(frozen=True, slots=True)
class Candidate:
    member: str
    trigger: str
    reason: str


def candidates(s: Session, now: datetime, grace: timedelta) -> list[Candidate]:
    """Members to declare now: a drawing of credit unpaid more than ``grace`` past its deadline
    (``repayment_deadline``), or an obligation as debtor carried since a cut-off more than ``grace``
    ago (``cycle_debit``: the oldest such obligation's first carry is the oldest cut-off since its
    creation that carried something of the member's). Members in default already, and suspended
    members' carried debits (the house, not the member, stopped them), are left out."""
    skip = set(active_defaults(s))
    found: dict[int, Candidate] = {}
    names = dict(s.execute(select(Member.id, Member.name)).all())
    late = s.execute(
        select(CreditDraw.member_id, CreditDraw.id, CreditDraw.outstanding, CreditDraw.due_at)
        .where(CreditDraw.status == draws.OPEN, CreditDraw.due_at < now - grace)
        .order_by(CreditDraw.due_at, CreditDraw.id)
    ).all()
    for mid, draw_id, outstanding, due in late:
        if mid not in skip and mid not in found:
            why = (
                f"drawing {draw_id} ({outstanding} outstanding) was due {due.isoformat()}: unpaid "
                f"{grace.days} day(s) past its deadline"
            )
            found[mid] = Candidate(names[mid], REPAYMENT_DEADLINE, why)
    suspended = set(s.scalars(select(Member.id).where(Member.status == MemberStatus.SUSPENDED)))
    oldest = s.execute(
        select(Obligation.debtor_id, func.min(Obligation.created_at), func.count())
        .where(Obligation.status.in_(_CARRIED), Obligation.route == Route.NET)
        .group_by(Obligation.debtor_id)
    ).all()
    for mid, since, count in oldest:
        if mid in skip or mid in found or mid in suspended:
            continue
        first = _first_carry(s, mid, since)
        if first is not None and first[1] < now - grace:
            why = (
                f"{count} obligation(s) as debtor carried since cycle {first[0]} cut off at {first[1].isoformat()}: "
                f"its debit not covered {grace.days} day(s) on"
            )
            found[mid] = Candidate(names[mid], CYCLE_DEBIT, why)
    return [found[m] for m in sorted(found)]


def _first_carry(s: Session, member_id: int, since: datetime) -> tuple[int, datetime] | None:
    """The oldest cut-off at or after ``since`` that carried something of the member's: (cycle, cut-off)."""
    rows = s.execute(
        select(Cycle.id, Cycle.cutoff_at, CyclePosition.carried)
        .join(CyclePosition, CyclePosition.cycle_id == Cycle.id)
        .where(CyclePosition.member_id == member_id, Cycle.cutoff_at >= since)
        .order_by(Cycle.cutoff_at, Cycle.id)
    ).all()
    return next(((cid, at) for cid, at, carried in rows if at is not None and carried > 0), None)  # compared here


def scan(ctx: ServiceContext, now: datetime | None = None) -> list[DefaultView]:
    """Declare every member past its grace period (the scheduler's job); the defaults declared."""
    now = now or ctx.clock()
    grace = timedelta(days=ctx.settings.defaults.grace_days)
    with ctx.uow(read_only=True) as uow:
        found = candidates(uow.session, now, grace)
    declared = []
    for c in found:
        try:
            declared.append(declare(ctx, c.member, c.reason, c.trigger, SYSTEM))
        except Conflict:  # declared meanwhile (an operator, another scan)
            continue
    if declared:
        log.warning("defaults declared: %s", ", ".join(f"{d.member} ({d.trigger})" for d in declared))
    return declared
