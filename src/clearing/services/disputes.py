"""Disputes: a party disputes an obligation, the operator upholds or rejects it with a reason.

Two phases, decided by where the obligation stands when the dispute is filed:

* ``pre-close``: it waits for a cycle (accepted, queued beyond headroom,
  carried, or held) and no cut-off has taken it. It is held by a hold whose
  rule is ``dispute`` and whose values name the dispute, so the holds
  machinery keeps it out of netting and releases what it reserved
  (``services/holds.py``). One the house had already taken on becomes
  ``disputed`` rather than ``held``: it stays in its debtor's velocity window.
  Upheld: the hold is rejected and the obligation with it (``rejected``, or
  ``cancelled`` for a disputed one); it never settles. Rejected: the hold is
  released and the headroom check runs as for any released hold, so the
  obligation goes back to netting (accepted, or queued beyond headroom).
* ``post-settlement``: it settled. Upheld: a reversing obligation (the creditor
  owes the debtor the same amount) is recorded for the next cycle
  (``services/reversals.py``). Rejected: nothing moves.

A party names the obligation by its id as a member reads it
(:mod:`clearing.services.obligation_lookup`): its own submission with that
id first, else the one with that id it is a party to (``submitter`` picks
one where several counterparties used the id); 404 otherwise. Ids are
unique per submitter only, so a dispute records the obligation's
``obligation_key`` and its views show the id, the key and the submitter.

One open dispute per obligation (409 ``dispute-open``, and a unique index
over open disputes); one upheld post-settlement dispute per obligation. Only
the operator resolves, always with a reason; resolving again with the same
decision answers the dispute as it stands (no second reversal), with the
other decision is a 409. Filing and resolving are audited
(``dispute.file``, ``dispute.uphold``, ``dispute.reject``); each party reads
its disputes, filed and against it, with the reasons, resolver and outcome.

Locks: the obligation's two member rows first (in id order, as every
status change of an obligation takes them), then the obligation and the
dispute rows, so a dispute cannot race a hold review, a submission's
headroom check or a cut-off.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from clearing.adapters.db import obligation_store as store
from clearing.adapters.db.models import Cycle, Dispute, Hold, Member, Obligation
from clearing.adapters.db.reservations import lock_members, transition
from clearing.domain.amounts import as_json_values
from clearing.domain.vocabulary import CycleState, DisputePhase, DisputeState, HoldStatus, Role
from clearing.domain.vocabulary import ObligationStatus as S
from clearing.errors import Conflict, DisputeOpen, NotAParty, NotDisputable, NotFound, ValidationError
from clearing.services import obligation_lookup, reversals
from clearing.services.audit_log import record_action
from clearing.services.context import ServiceContext
from clearing.services.holds import DISPUTE, decide_hold
from clearing.services.keys import Principal

#: What a resolution decides, and the state it leaves the dispute in.
OUTCOMES = {"uphold": DisputeState.UPHELD, "reject": DisputeState.REJECTED}
#: Statuses of an obligation still waiting for a cycle's cut-off: disputable before close.
WAITING = (S.ACCEPTED, S.QUEUED_BEYOND_HEADROOM, S.CARRIED, S.HELD)
#: The characters a reason may not consist of alone (the request schema's pattern says the same).
BLANK = " \t\n\r"
REASON_MAX = 1024


def require_reason(reason: str) -> str:
    """A reason with something in it (not only spaces, tabs or line breaks), at most 1,024 characters."""
    if not reason.strip(BLANK):
        raise ValidationError("a reason is required", field="reason")
    if len(reason) > REASON_MAX:
        raise ValidationError(f"a reason holds at most {REASON_MAX} characters", field="reason")
    return reason


@dataclass(frozen=True, slots=True)
class DisputeView:
    """A dispute with the obligation it is about (the one shape this service hands out)."""

    id: int
    #: The obligation's id, as its submitter chose it (unique per submitter).
    obligation_id: str
    #: The obligation's key (0x-hex): unique across members.
    obligation_key: str
    #: Name of the member that submitted the obligation.
    submitter: str
    debtor: str
    creditor: str
    amount: int
    obligation_status: str
    filed_by: str
    against: str
    reason: str
    phase: str
    state: str
    hold_id: int | None
    resolution: str | None
    resolver: str | None
    #: Post-settlement and upheld: the reversing obligation's id (submitted by the filer) and key.
    reversal_obligation_id: str | None
    reversal_obligation_key: str | None
    created_at: datetime
    resolved_at: datetime | None


def _view(d: Dispute, o: Obligation, debtor: str, creditor: str, reversal_id: str | None) -> DisputeView:
    filer, other = (debtor, creditor) if d.filed_by_id == o.debtor_id else (creditor, debtor)
    return DisputeView(
        id=d.id,
        obligation_id=o.id,
        obligation_key=o.obligation_key,
        submitter=debtor if o.submitted_by == o.debtor_id else creditor,  # the submitter is always a party
        debtor=debtor,
        creditor=creditor,
        amount=o.amount,
        obligation_status=o.status,
        filed_by=filer,
        against=other,
        reason=d.reason,
        phase=d.phase,
        state=d.state,
        hold_id=d.hold_id,
        resolution=d.resolution,
        resolver=d.resolver,
        reversal_obligation_id=reversal_id,
        reversal_obligation_key=d.reversal_obligation_key,
        created_at=d.created_at,
        resolved_at=d.resolved_at,
    )


_Debtor, _Creditor, _Reversal = aliased(Member), aliased(Member), aliased(Obligation)


def _query() -> Select[Dispute, Obligation, str, str, str | None]:
    return (
        select(Dispute, Obligation, _Debtor.name, _Creditor.name, _Reversal.id)
        .join(Obligation, Obligation.obligation_key == Dispute.obligation_key)
        .join(_Debtor, _Debtor.id == Obligation.debtor_id)
        .join(_Creditor, _Creditor.id == Obligation.creditor_id)
        .outerjoin(_Reversal, _Reversal.obligation_key == Dispute.reversal_obligation_key)
    )


def _load(s: Session, dispute_id: int) -> DisputeView | None:
    row = s.execute(_query().where(Dispute.id == dispute_id).execution_options(populate_existing=True)).first()
    return None if row is None else _view(*row)


# ----------------------------------------------------------------------------- filing


def file(
    ctx: ServiceContext, me: Principal, obligation_id: str, *, reason: str, submitter: str | None = None
) -> DisputeView:
    """A party (debtor or creditor) disputes an obligation; anyone else gets 404, as for reading it.

    ``obligation_id`` is found as the member's ``GET /obligations/{id}`` finds it: its own submission
    with that id first, else the one with that id it is a party to (``submitter``, a name or address,
    picks one where its counterparties submitted several).
    """
    if me.member_id is None:
        raise NotAParty("only a party's member key disputes an obligation", field="authorization")
    reason = require_reason(reason)
    try:
        with ctx.uow() as uow:
            s = uow.session
            found = obligation_lookup.find(s, me, obligation_id, submitter, field="obligation_id")
            key = found.obligation_key
            lock_members(s, [found.debtor_id, found.creditor_id])
            o = s.get(Obligation, key, with_for_update=True, populate_existing=True)
            assert o is not None  # obligations are never deleted
            _refuse_open(s, o)
            phase = _phase(s, o)
            now = ctx.clock()
            d = Dispute(
                obligation_key=key,
                filed_by_id=me.member_id,
                against_id=o.creditor_id if me.member_id == o.debtor_id else o.debtor_id,
                reason=reason,
                phase=phase,
                state=DisputeState.OPEN,
                created_at=now,
            )
            s.add(d)
            s.flush()
            if phase == DisputePhase.PRE_CLOSE:
                d.hold_id = _hold(s, o, d, me, now)
            record_action(
                s,
                me.actor,
                "dispute.file",
                {"dispute": d.id, **_names(s, o), "phase": phase, "hold": d.hold_id, "reason": reason},
            )
            uow.commit()
            view = _load(s, d.id)
    except IntegrityError:  # another request opened one first (the unique index over open disputes)
        raise DisputeOpen(
            f"obligation {obligation_id!r} already has an open dispute", field="obligation_id", id=obligation_id
        ) from None
    assert view is not None
    return view


def _names(s: Session, o: Obligation) -> dict[str, str]:
    """How the audit log names an obligation: its id, its submitter and its key (as hold reviews do)."""
    submitter = s.scalar(select(Member.name).where(Member.id == o.submitted_by))
    return {"obligation": o.id, "submitter": str(submitter), "obligation_key": o.obligation_key}


def _refuse_open(s: Session, o: Obligation) -> None:
    open_id = s.scalar(
        select(Dispute.id)
        .where(Dispute.obligation_key == o.obligation_key, Dispute.state == DisputeState.OPEN)
        .limit(1)
    )
    if open_id is not None:
        raise DisputeOpen(
            f"obligation {o.id!r} already has an open dispute ({open_id})",
            field="obligation_id",
            dispute=open_id,
        )


def _phase(s: Session, o: Obligation) -> str:
    """Which dispute the obligation can take now, or why none (a 409 saying where it stands)."""
    if o.status == S.SETTLED:
        upheld = s.scalar(
            select(Dispute.id)
            .where(Dispute.obligation_key == o.obligation_key, Dispute.state == DisputeState.UPHELD)
            .limit(1)
        )
        if upheld is not None:
            raise NotDisputable(
                f"obligation {o.id!r} was already reversed by dispute {upheld}", field="obligation_id", dispute=upheld
            )
        return DisputePhase.POST_SETTLEMENT
    if o.status in WAITING:
        cycle = s.get(Cycle, o.cycle_id) if o.cycle_id is not None else None
        if cycle is None or cycle.state == CycleState.OPEN:
            return DisputePhase.PRE_CLOSE
    if o.status == S.ESCROW:
        raise NotDisputable(
            f"obligation {o.id!r} is a tier-C order: dispute it on its order escrow "
            f"(POST /obligations/{{id}}/escrow/dispute), or here once it has settled",
            field="obligation_id",
            status=o.status,
        )
    if o.status in (*WAITING, S.NETTED, S.COMMITTED):
        raise NotDisputable(
            f"obligation {o.id!r} is in cycle {o.cycle_id}, past its cut-off: dispute it once it has settled",
            field="obligation_id",
            status=o.status,
            cycle=o.cycle_id,
        )
    raise NotDisputable(
        f"obligation {o.id!r} is {o.status}: nothing of it is owed or paid to dispute",
        field="obligation_id",
        status=o.status,
    )


def _hold(s: Session, o: Obligation, d: Dispute, me: Principal, now: datetime) -> int:
    """Hold the obligation naming the dispute; one the house had taken on becomes ``disputed``."""
    [hold] = store.insert_holds(
        s,
        [
            (
                o.obligation_key,
                DISPUTE,
                f"disputed by {me.member_name} (dispute {d.id})",
                as_json_values({"dispute": d.id}),
                None,
            )
        ],
        now,
    )
    if o.status != S.HELD:
        transition(s, [o.obligation_key], S.DISPUTED)
    return hold.id


# ----------------------------------------------------------------------------- resolving


def resolve(ctx: ServiceContext, actor: Principal, dispute_id: int, *, decision: str, reason: str) -> DisputeView:
    """Uphold or reject an open dispute, with a reason (operators; audited). See the module doc for what moves."""
    if actor.role != Role.OPERATOR:
        raise NotAParty("only the operator resolves disputes", field="authorization")
    if decision not in OUTCOMES:
        raise ValidationError("decision is uphold or reject", field="decision")
    reason = require_reason(reason)
    for attempt in range(3):
        try:
            return _resolve_once(ctx, actor, dispute_id, decision, reason)
        except IntegrityError:
            # The filer's own submission took the reversal's id meanwhile: redo, seeing it (the next id is taken).
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _resolve_once(ctx: ServiceContext, actor: Principal, dispute_id: int, decision: str, reason: str) -> DisputeView:
    with ctx.uow() as uow:
        s = uow.session
        d = s.get(Dispute, dispute_id)
        if d is None:
            raise NotFound(f"no dispute {dispute_id}", field="dispute_id")
        o = s.get(Obligation, d.obligation_key)
        assert o is not None  # a dispute's obligation is never deleted
        lock_members(s, [o.debtor_id, o.creditor_id])
        d = s.get(Dispute, dispute_id, with_for_update=True, populate_existing=True)
        o = s.get(Obligation, o.obligation_key, with_for_update=True, populate_existing=True)
        assert d is not None and o is not None
        state = OUTCOMES[decision]
        if d.state != DisputeState.OPEN:
            if d.state != state:
                raise Conflict(f"dispute {dispute_id} was already {d.state}", field="dispute_id", state=d.state)
            view = _load(s, dispute_id)  # the same decision again: the dispute as it stands
            assert view is not None
            return view
        now = ctx.clock()
        if d.phase == DisputePhase.PRE_CLOSE:
            _decide_hold(s, d, decision, reason, actor.actor)
        elif state == DisputeState.UPHELD:
            d.reversal_obligation_key = reversals.reverse(s, o, dispute_id=d.id, submitted_by=d.filed_by_id, now=now)
        d.state, d.resolution, d.resolver, d.resolved_at = state, reason, actor.actor, now
        s.flush()
        o = s.get(Obligation, d.obligation_key, populate_existing=True)
        assert o is not None
        reversal = s.get(Obligation, d.reversal_obligation_key) if d.reversal_obligation_key else None
        record_action(
            s,
            actor.actor,
            f"dispute.{decision}",
            {
                "dispute": d.id,
                **_names(s, o),
                "phase": d.phase,
                "reason": reason,
                "obligation_status": o.status,
                "reversal": reversal.id if reversal else None,
                "reversal_key": d.reversal_obligation_key,
            },
        )
        uow.commit()
        view = _load(s, dispute_id)
        assert view is not None
        return view


def _decide_hold(s: Session, d: Dispute, decision: str, reason: str, reviewer: str) -> None:
    """Upheld: reject the dispute's hold (and the obligation); rejected: release it (back to netting).

    A hold already closed (another hold of the obligation was rejected, rejecting it) moves nothing.
    """
    hold = s.get(Hold, d.hold_id, with_for_update=True, populate_existing=True) if d.hold_id is not None else None
    if hold is not None and hold.status == HoldStatus.OPEN:
        decide_hold(s, hold, "reject" if decision == "uphold" else "release", f"dispute {d.id}: {reason}", reviewer)


# ----------------------------------------------------------------------------- reading


def get(ctx: ServiceContext, who: Principal, dispute_id: int) -> DisputeView:
    """One dispute: a member sees those it filed or that are against it (404 otherwise); operators and auditors all."""
    with ctx.uow(read_only=True) as uow:
        view = _load(uow.session, dispute_id)
    if view is None or (who.member_id is not None and who.member_name not in (view.filed_by, view.against)):
        raise NotFound(f"no dispute {dispute_id}", field="dispute_id")
    return view


def list_disputes(
    ctx: ServiceContext, who: Principal, *, state: str | None = None, member: str | None = None, limit: int = 500
) -> list[DisputeView]:
    """Newest first. A member: those it filed or that are against it; operators and auditors: all, or one
    member's (``member``: filed by it or against it). ``state``: only disputes in it."""
    q = _query().order_by(Dispute.id.desc()).limit(limit)
    if state:
        q = q.where(Dispute.state == state)
    with ctx.uow(read_only=True) as uow:
        s = uow.session
        party = who.member_id
        if party is None and member is not None:
            party = s.scalar(select(Member.id).where(Member.name == member))
            if party is None:
                return []
        if party is not None:
            q = q.where((Dispute.filed_by_id == party) | (Dispute.against_id == party))
        return [_view(*row) for row in s.execute(q).all()]
