"""Complaints: a member complains about a member it has traded with; the operator validates or dismisses it.

Only a counterparty may complain: the two members must share an obligation
(either way round, whatever became of it), and an obligation the complaint
names must be between exactly those two. The complainant names it by its id
as its ``GET /obligations/{id}`` finds it (its own submission first, else the
one it is a party to: :mod:`clearing.services.obligation_lookup`; where
several counterparties used the id, the one the member complained about
submitted). Ids are unique per submitter only, so the complaint records the
obligation's key, and its views show the id, the key and the submitter.

The operator validates or dismisses it with a reason; the same decision
again answers the complaint as it stands, the other one is a 409. Filing and
resolving are audited (``complaint.file``, ``complaint.validate``,
``complaint.dismiss``); both members read it, with the reasons, resolver and
outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session, aliased

from clearing.adapters.db.models import Complaint, Member, Obligation
from clearing.domain.vocabulary import ComplaintState, Role
from clearing.errors import (
    AmbiguousObligation,
    Conflict,
    NotACounterparty,
    NotAParty,
    NotFound,
    SameMember,
    UnknownMember,
    ValidationError,
)
from clearing.services import obligation_lookup
from clearing.services.audit_log import record_action
from clearing.services.context import ServiceContext
from clearing.services.disputes import require_reason
from clearing.services.keys import Principal

#: What a resolution decides, and the state it leaves the complaint in.
OUTCOMES = {"validate": ComplaintState.VALIDATED, "dismiss": ComplaintState.DISMISSED}


@dataclass(frozen=True, slots=True)
class ComplaintView:
    id: int
    filed_by: str
    against: str
    #: The obligation it is about, if any: its id (unique per submitter), key and submitter's name.
    obligation_id: str | None
    obligation_key: str | None
    obligation_submitter: str | None
    reason: str
    state: str
    resolution: str | None
    resolver: str | None
    created_at: datetime
    resolved_at: datetime | None


_Filer, _Target, _Submitter = aliased(Member), aliased(Member), aliased(Member)


def _query() -> Select[Complaint, str, str, str | None, str | None]:
    return (
        select(Complaint, _Filer.name, _Target.name, Obligation.id, _Submitter.name)
        .join(_Filer, _Filer.id == Complaint.filed_by_id)
        .join(_Target, _Target.id == Complaint.against_id)
        .outerjoin(Obligation, Obligation.obligation_key == Complaint.obligation_key)
        .outerjoin(_Submitter, _Submitter.id == Obligation.submitted_by)
    )


def _view(c: Complaint, filer: str, target: str, obligation_id: str | None, submitter: str | None) -> ComplaintView:
    return ComplaintView(
        id=c.id,
        filed_by=filer,
        against=target,
        obligation_id=obligation_id,
        obligation_key=c.obligation_key,
        obligation_submitter=submitter,
        reason=c.reason,
        state=c.state,
        resolution=c.resolution,
        resolver=c.resolver,
        created_at=c.created_at,
        resolved_at=c.resolved_at,
    )


def _load(s: Session, complaint_id: int) -> ComplaintView | None:
    row = s.execute(_query().where(Complaint.id == complaint_id).execution_options(populate_existing=True)).first()
    return None if row is None else _view(*row)


def file(
    ctx: ServiceContext, me: Principal, *, against: str, reason: str, obligation_id: str | None = None
) -> ComplaintView:
    """``me`` complains about member ``against`` (a name), optionally about one obligation between them.

    ``obligation_id`` is found as ``me``'s ``GET /obligations/{id}`` finds it (404 if ``me`` is no party).
    """
    if me.member_id is None:
        raise NotAParty("only a member key files a complaint", field="authorization")
    reason = require_reason(reason)
    with ctx.uow() as uow:
        s = uow.session
        target = s.scalar(select(Member.id).where(Member.name == against))
        if target is None:
            raise UnknownMember(f"unknown member {against!r}", field="against", member=against)
        if target == me.member_id:
            raise SameMember("a member cannot complain about itself", field="against", member=against)
        o = None if obligation_id is None else _find(s, me, obligation_id, against)
        _require_counterparty(s, me.member_id, target, against, o)
        c = Complaint(
            filed_by_id=me.member_id,
            against_id=target,
            obligation_key=None if o is None else o.obligation_key,
            reason=reason,
            state=ComplaintState.OPEN,
            created_at=ctx.clock(),
        )
        s.add(c)
        s.flush()
        record_action(
            s,
            me.actor,
            "complaint.file",
            {
                "complaint": c.id,
                "against": against,
                "obligation": obligation_id,
                "obligation_key": c.obligation_key,
                "reason": reason,
            },
        )
        uow.commit()
        view = _load(s, c.id)
    assert view is not None
    return view


def _find(s: Session, me: Principal, obligation_id: str, against: str) -> Obligation:
    """The obligation ``me`` names: its own submission with that id, else the one it is a party to; where
    several counterparties used the id, the one ``against`` submitted (the complaint is about that member)."""
    try:
        return obligation_lookup.find(s, me, obligation_id, field="obligation_id")
    except AmbiguousObligation:
        return obligation_lookup.find(s, me, obligation_id, against, field="obligation_id")


def _require_counterparty(s: Session, me: int, target: int, name: str, o: Obligation | None) -> None:
    """``o`` (found as ``me`` sees it, so ``me`` is a party) is between ``me`` and ``target``; or, without
    one, they share some obligation."""
    if o is not None:
        if target not in (o.debtor_id, o.creditor_id):
            raise NotACounterparty(
                f"obligation {o.id!r} is not between you and {name}", field="obligation_id", member=name
            )
        return
    between = or_(
        and_(Obligation.debtor_id == me, Obligation.creditor_id == target),
        and_(Obligation.debtor_id == target, Obligation.creditor_id == me),
    )
    if s.scalar(select(Obligation.id).where(between).limit(1)) is None:
        raise NotACounterparty(
            f"you have no obligation with {name}: only a counterparty may complain", field="against", member=name
        )


def resolve(ctx: ServiceContext, actor: Principal, complaint_id: int, *, decision: str, reason: str) -> ComplaintView:
    """Validate or dismiss an open complaint, with a reason (operators; audited)."""
    if actor.role != Role.OPERATOR:
        raise NotAParty("only the operator resolves complaints", field="authorization")
    if decision not in OUTCOMES:
        raise ValidationError("decision is validate or dismiss", field="decision")
    reason = require_reason(reason)
    with ctx.uow() as uow:
        s = uow.session
        c = s.get(Complaint, complaint_id, with_for_update=True)
        if c is None:
            raise NotFound(f"no complaint {complaint_id}", field="complaint_id")
        state = OUTCOMES[decision]
        if c.state == ComplaintState.OPEN:
            c.state, c.resolution, c.resolver, c.resolved_at = state, reason, actor.actor, ctx.clock()
            record_action(s, actor.actor, f"complaint.{decision}", {"complaint": c.id, "reason": reason})
            uow.commit()
        elif c.state != state:
            raise Conflict(f"complaint {complaint_id} was already {c.state}", field="complaint_id", state=c.state)
        view = _load(s, complaint_id)
    assert view is not None
    return view


def get(ctx: ServiceContext, who: Principal, complaint_id: int) -> ComplaintView:
    """One complaint: a member sees those it filed or that are against it (404 otherwise); operators, auditors all."""
    with ctx.uow(read_only=True) as uow:
        view = _load(uow.session, complaint_id)
    if view is None or (who.member_id is not None and who.member_name not in (view.filed_by, view.against)):
        raise NotFound(f"no complaint {complaint_id}", field="complaint_id")
    return view


def list_complaints(
    ctx: ServiceContext, who: Principal, *, state: str | None = None, member: str | None = None, limit: int = 500
) -> list[ComplaintView]:
    """Newest first. A member: those it filed or that are against it; operators and auditors: all, or one
    member's (``member``: filed by it or against it). ``state``: only complaints in it."""
    q = _query().order_by(Complaint.id.desc()).limit(limit)
    if state:
        q = q.where(Complaint.state == state)
    with ctx.uow(read_only=True) as uow:
        s = uow.session
        party = who.member_id
        if party is None and member is not None:
            party = s.scalar(select(Member.id).where(Member.name == member))
            if party is None:
                return []
        if party is not None:
            q = q.where((Complaint.filed_by_id == party) | (Complaint.against_id == party))
        return [_view(*row) for row in s.execute(q).all()]
