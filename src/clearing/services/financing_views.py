"""Reading receivable advances: each advance as the ledger and the chain see it, for its member or the
operator (``services/financing.py`` takes them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from clearing.adapters.db.advances import ReceivableAdvance
from clearing.adapters.db.models import Member, SettlementTx
from clearing.domain.vocabulary import Role, TxState
from clearing.errors import Forbidden, NotFound
from clearing.services.context import ServiceContext
from clearing.services.keys import Principal

OPEN, REPAID, RECOURSE, REQUESTED, FAILED = "open", "repaid", "recourse", "requested", "failed"
#: An advance on an open cycle: waiting for its commit (scheduled), or never paid (lapsed).
SCHEDULED, LAPSED = "scheduled", "lapsed"


@dataclass(frozen=True, slots=True)
class AdvanceView:
    """One advance and where it stands (``status``: requested, open, repaid, recourse or failed)."""

    id: int
    request_id: str
    member: str
    cycle_id: int
    status: str
    receivable: int
    debtor_tier: str
    days: int
    haircut_bps: int
    rate_bps: int
    principal: int
    fee: int
    #: What it still owes the pool, from the chain's events as the ledger recorded them.
    owed: int
    #: ``principal + fee`` from the chain's ``advanceOf`` now (None: no chain here).
    owed_on_chain: int | None
    repaid_principal: int
    repaid_fee: int
    recourse_principal: int
    recourse_fee: int
    requested_at: datetime
    advanced_at: datetime | None
    advance_tx: str | None
    outbox_id: int | None
    outbox_state: str | None
    error: str | None
    #: Why an advance taken on an open cycle was never paid.
    lapsed: str | None


# --------------------------------------------------------------------------- reading


def _status(row: ReceivableAdvance, tx_state: str | None) -> str:
    if row.advance_tx is None:
        if row.lapsed is not None:
            return LAPSED
        if row.outbox_id is None:
            return SCHEDULED
        return FAILED if tx_state == TxState.FAILED else REQUESTED
    if row.recourse_principal or row.recourse_fee:
        return RECOURSE
    return REPAID if row.owed == 0 else OPEN


def _views(ctx: ServiceContext, s: Session, rows: list[ReceivableAdvance]) -> list[AdvanceView]:
    members = {mid: (name, addr) for mid, name, addr in s.execute(select(Member.id, Member.name, Member.address))}
    txs = {
        i: (state, err)
        for i, state, err in s.execute(
            select(SettlementTx.id, SettlementTx.state, SettlementTx.error).where(
                SettlementTx.id.in_([r.outbox_id for r in rows if r.outbox_id is not None])
            )
        )
    }
    house = ctx.contracts.house if ctx.contracts is not None else None
    out = []
    for r in rows:
        name, address = members[r.member_id]
        state, err = txs.get(r.outbox_id or -1, (None, None))
        on_chain = sum(house.advance_of(r.cycle_id, address)) if house is not None and r.advance_tx else None
        out.append(
            AdvanceView(
                id=r.id,
                request_id=r.request_id,
                member=name,
                cycle_id=r.cycle_id,
                status=_status(r, state),
                receivable=r.receivable,
                debtor_tier=r.debtor_tier,
                days=r.days,
                haircut_bps=r.haircut_bps,
                rate_bps=r.rate_bps,
                principal=r.principal,
                fee=r.fee,
                owed=r.owed,
                owed_on_chain=on_chain if r.advance_tx else (0 if house is not None else None),
                repaid_principal=r.repaid_principal,
                repaid_fee=r.repaid_fee,
                recourse_principal=r.recourse_principal,
                recourse_fee=r.recourse_fee,
                requested_at=r.requested_at,
                advanced_at=r.advanced_at,
                advance_tx=r.advance_tx,
                outbox_id=r.outbox_id,
                outbox_state=state,
                error=err if state == TxState.FAILED else None,
                lapsed=r.lapsed,
            )
        )
    return out


def list_advances(ctx: ServiceContext, who: Principal, *, cycle_id: int | None = None) -> list[AdvanceView]:
    """A member's own advances, or every advance for the operator; newest first."""
    q = select(ReceivableAdvance).order_by(ReceivableAdvance.id.desc()).limit(500)
    if who.role == Role.MEMBER:
        q = q.where(ReceivableAdvance.member_id == who.member_id)
    elif who.role != Role.OPERATOR:
        raise Forbidden("advances are read by their member or the operator", field="authorization")
    if cycle_id is not None:
        q = q.where(ReceivableAdvance.cycle_id == cycle_id)
    with ctx.uow(read_only=True) as uow:
        return _views(ctx, uow.session, list(uow.session.scalars(q)))


def get(ctx: ServiceContext, who: Principal, advance_id: int) -> AdvanceView:
    with ctx.uow(read_only=True) as uow:
        row = uow.session.get(ReceivableAdvance, advance_id)
        if row is None or (who.role == Role.MEMBER and row.member_id != who.member_id):
            raise NotFound(f"no advance {advance_id}", field="advance_id")
        return _views(ctx, uow.session, [row])[0]
