"""Receivables financing: a creditor member takes an advance from the pool on its pending credit in a
committed cycle, and the pool is repaid first when that credit is released (``docs/financing.md``).

The receivable is the creditor's net credit still pending in the cycle's escrow (the smaller of the
ledger's net position and the chain's ``pendingCredit``: a partial release may have paid part of it).
Its price (``domain/financing.py``): a haircut by the debtor's tier, then a discount at the pool's annual
rate for the days until the cycle is claimable (at least ``financing.min_days``). The tier is the worst
tier among the debtors of the cycle's obligations to the creditor: the net credit is paid out of all of
them, and netting does not say which debtor's money it is, so the riskiest one prices it.

The chain call is ``advanceReceivable(cycle, creditor, principal, fee)`` with ``principal`` = the advance
and ``fee`` = the discount: ``principal + fee`` (the receivable after its haircut) is assigned to the pool,
never more than what is pending; the haircut stays the creditor's, paid at release after the pool.

:func:`request` checks everything the contract would (cycle committed, not held nor settled; credit
pending; no advance yet; liquidity ``poolTotal − creditDrawn − totalAdvanced``) and answers a clear 409
naming the field rather than a revert, then plans the call in the outbox with a ``receivable_advances``
row and the audit-log entry in one ledger transaction, sends it, and lets chain sync record what the
chain's events say (``financing_events.py``). The member's request id is its idempotency key: the same id
for the same cycle returns the first advance (finishing its sending after a crash); for another cycle it
is a conflict.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from clearing.adapters.chain.client import advance_error
from clearing.adapters.chain.deploy import Contracts
from clearing.adapters.db.advances import ReceivableAdvance
from clearing.adapters.db.models import Cycle, CyclePosition, Member, Obligation, SettlementTx
from clearing.domain.financing import MAX_DAYS, AdvanceTerms, quote
from clearing.domain.vocabulary import CycleState, MemberStatus, Role, TxState
from clearing.domain.vocabulary import ObligationStatus as S
from clearing.errors import (
    AdvanceExists,
    AdvanceRefused,
    ChainReverted,
    Conflict,
    Forbidden,
    NotFound,
    ServiceUnavailable,
)
from clearing.services import chain_sync, outbox
from clearing.services.audit_log import record_action
from clearing.services.context import ServiceContext
from clearing.services.financing_calls import ADVANCE_RECEIVABLE, advance_done
from clearing.services.keys import Principal
from clearing.services.operator_actions import check_request_id

log = logging.getLogger(__name__)

#: Obligations whose money is in a committed cycle's escrow (the creditor's credit comes from them).
_IN_ESCROW = (S.NETTED, S.COMMITTED)
_DAY = 86_400
#: Tiers from best to worst.
_TIERS = ("A", "B", "C")
OPEN, REPAID, RECOURSE, REQUESTED, FAILED = "open", "repaid", "recourse", "requested", "failed"


@dataclass(frozen=True, slots=True)
class QuoteView:
    """What the pool would advance now on a creditor's pending credit in a cycle, and why."""

    cycle_id: int
    member: str
    #: The credit priced: min(ledger net credit, chain pendingCredit).
    receivable: int
    debtor_tier: str
    #: The debtors whose obligations to the member are in the cycle (the worst tier prices it).
    debtors: tuple[str, ...]
    days: int
    claimable_at: datetime
    haircut_bps: int
    rate_bps: int
    gross: int
    #: Paid to the creditor now (``principal`` on chain).
    advance: int
    #: The discount, the lenders' income (``fee`` on chain); the pool is repaid ``advance + fee``.
    fee: int
    pool_liquidity: int

    def to_dict(self) -> dict[str, Any]:
        return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in asdict(self).items()}


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


# --------------------------------------------------------------------------- pricing


def terms_of(ctx: ServiceContext) -> AdvanceTerms:
    f = ctx.settings.financing
    return AdvanceTerms(haircut_bps=f.haircuts(), rate_bps=f.rate_bps)


def _chain(ctx: ServiceContext) -> Contracts:
    if ctx.contracts is None:
        raise ServiceUnavailable("an advance is paid on chain: this server has no chain", field=None)
    return ctx.contracts


def _creditor(s: Session, who: Principal, *, lock: bool = False) -> Member:
    if who.role != Role.MEMBER or who.member_id is None:
        raise Forbidden("advances are taken by the creditor member with its own key", field="authorization")
    q = select(Member).where(Member.id == who.member_id)
    m = s.scalars(q.with_for_update() if lock else q).one()
    return m


def _price(ctx: ServiceContext, s: Session, m: Member, cycle_id: int) -> QuoteView:
    """Every check :func:`request` makes, then the price (see the module); 409 ``AdvanceRefused`` naming the field."""
    c = _chain(ctx)
    house = c.house
    cycle = s.get(Cycle, cycle_id)
    if cycle is None:
        raise NotFound(f"cycle {cycle_id} not found", field="cycle_id")
    where = f"cycle {cycle_id}"
    if cycle.state != CycleState.COMMITTED:
        raise AdvanceRefused(
            f"{where} is {cycle.state}: advances are on credit pending in a COMMITTED cycle",
            field="cycle_id",
            state=cycle.state,
        )
    if m.status == MemberStatus.SUSPENDED:
        raise AdvanceRefused(f"{m.name} is suspended: it cannot take an advance", field="authorization")
    net = s.scalar(
        select(CyclePosition.net_delta).where(CyclePosition.cycle_id == cycle_id, CyclePosition.member_id == m.id)
    )
    on_chain = house.cycle(cycle_id)
    now = house.chain.timestamp()
    if on_chain.held_until > now:
        raise AdvanceRefused(
            f"{where} is held until {_iso(on_chain.held_until)}: no advance on a held cycle",
            field="cycle_id",
            held_until=_iso(on_chain.held_until),
        )
    pending = house.pending_credit(cycle_id, m.address) if on_chain.committed and on_chain.status == 1 else 0
    receivable = min(int(net or 0), pending)
    if receivable <= 0:
        raise AdvanceRefused(
            f"{m.name} has no credit pending in {where} (ledger net {int(net or 0)}, chain {pending})",
            field="cycle_id",
            ledger=int(net or 0),
            pending=pending,
        )
    _no_advance_yet(s, house.advance_of(cycle_id, m.address), m, cycle_id)
    tier, debtors = _debtor_tier(s, m.id, cycle_id)
    days = max(ctx.settings.financing.min_days, -(-(on_chain.claimable_at - now) // _DAY))
    if days > MAX_DAYS:
        raise AdvanceRefused(
            f"{where} is claimable in {days} days: more than {MAX_DAYS} is not financed", field="cycle_id"
        )
    terms = terms_of(ctx)
    q = quote(receivable, tier, days=days, terms=terms)
    if q.advance <= 0:
        raise AdvanceRefused(
            f"a receivable owed by a tier-{tier} debtor ({', '.join(debtors)}) backs no advance "
            f"(haircut {q.haircut_bps} bps)",
            field="cycle_id",
            debtor_tier=tier,
        )
    liquidity = house.pool_total() - house.credit_drawn() - house.total_advanced()
    if q.advance > liquidity:
        raise AdvanceRefused(
            f"the pool has {max(liquidity, 0)} undrawn, less than the {q.advance} this advance needs",
            field="pool",
            available=max(liquidity, 0),
            needed=q.advance,
        )
    return QuoteView(
        cycle_id=cycle_id,
        member=m.name,
        receivable=receivable,
        debtor_tier=tier,
        debtors=debtors,
        days=days,
        claimable_at=datetime.fromtimestamp(on_chain.claimable_at, UTC),
        haircut_bps=q.haircut_bps,
        rate_bps=terms.rate_bps,
        gross=q.gross,
        advance=q.advance,
        fee=q.gross - q.advance,
        pool_liquidity=liquidity,
    )


def _no_advance_yet(s: Session, owed_on_chain: tuple[int, int], m: Member, cycle_id: int) -> None:
    rows = s.scalars(
        select(ReceivableAdvance).where(ReceivableAdvance.member_id == m.id, ReceivableAdvance.cycle_id == cycle_id)
    ).all()
    states = dict(
        s.execute(
            select(SettlementTx.id, SettlementTx.state).where(SettlementTx.id.in_([r.outbox_id for r in rows]))
        ).all()
    )
    live = [r for r in rows if states.get(r.outbox_id or -1) != TxState.FAILED]
    if live or owed_on_chain != (0, 0):
        raise AdvanceExists(
            f"{m.name} already has an advance on its credit in cycle {cycle_id}"
            + (f" (request {live[0].request_id!r})" if live else ""),
            field="cycle_id",
            cycle_id=cycle_id,
            creditor=m.address,
        )


def _debtor_tier(s: Session, member_id: int, cycle_id: int) -> tuple[str, tuple[str, ...]]:
    """The worst tier among the debtors of the cycle's obligations to the member, and those debtors."""
    rows = s.execute(
        select(Member.name, Member.tier)
        .join(Obligation, Obligation.debtor_id == Member.id)
        .where(Obligation.cycle_id == cycle_id, Obligation.creditor_id == member_id, Obligation.status.in_(_IN_ESCROW))
        .distinct()
    ).all()
    if not rows:  # a net credit always has obligations behind it; without them, price it as the worst
        return _TIERS[-1], ()
    tiers = [t if t in _TIERS else _TIERS[-1] for _, t in rows]
    return max(tiers, key=_TIERS.index), tuple(sorted(n for n, _ in rows))


def quote_for(ctx: ServiceContext, who: Principal, cycle_id: int) -> QuoteView:
    """What the pool would advance the calling creditor now on its credit in ``cycle_id`` (no side effect)."""
    with ctx.uow(read_only=True) as uow:
        return _price(ctx, uow.session, _creditor(uow.session, who), cycle_id)


# --------------------------------------------------------------------------- requesting


def request(ctx: ServiceContext, who: Principal, request_id: str, cycle_id: int) -> AdvanceView:
    """Take the advance :func:`quote_for` prices (see the module); idempotent by ``request_id``."""
    check_request_id(request_id)
    c = _chain(ctx)
    with ctx.uow() as uow:
        s = uow.session
        m = _creditor(s, who, lock=True)  # one request of a member at a time: the checks hold until the commit
        row = s.scalars(
            select(ReceivableAdvance).where(
                ReceivableAdvance.member_id == m.id, ReceivableAdvance.request_id == request_id
            )
        ).first()
        if row is not None and row.cycle_id != cycle_id:
            raise Conflict(
                f"request id {request_id!r} was used before for cycle {row.cycle_id}", field="id", id=request_id
            )
        if row is None:
            row = _plan(ctx, s, m, request_id, _price(ctx, s, m, cycle_id))
            uow.commit()
        advance_id, outbox_id, address = row.id, row.outbox_id, m.address
        args = c.house.advance_args(cycle_id, address, row.principal, row.fee)
    _send(ctx, c, outbox_id, args)
    return get(ctx, who, advance_id)


def _plan(ctx: ServiceContext, s: Session, m: Member, request_id: str, q: QuoteView) -> ReceivableAdvance:
    """The outbox row, the advance's row and the audit-log entry, in the caller's unit of work."""
    args = [q.cycle_id, m.address, q.advance, q.fee]
    item = outbox.plan(
        s,
        ADVANCE_RECEIVABLE,
        cycle_id=q.cycle_id,
        member_id=m.id,
        payload={"request_id": request_id, "fn": "advanceReceivable", "args": outbox.json_args(args)},
    )
    row = ReceivableAdvance(
        member_id=m.id,
        cycle_id=q.cycle_id,
        request_id=request_id,
        requested_at=ctx.clock(),
        receivable=q.receivable,
        debtor_tier=q.debtor_tier,
        days=q.days,
        haircut_bps=q.haircut_bps,
        rate_bps=q.rate_bps,
        principal=q.advance,
        fee=q.fee,
        outbox_id=item.id,
        repaid_principal=0,
        repaid_fee=0,
        recourse_principal=0,
        recourse_fee=0,
    )
    s.add(row)
    s.flush()
    record_action(
        s,
        f"member:{m.name}",
        "financing.advance",
        {"id": request_id, "advance": row.id, "outbox_id": item.id, **q.to_dict(), "debtors": list(q.debtors)},
    )
    return row


def _send(ctx: ServiceContext, c: Contracts, outbox_id: int | None, args: tuple[Any, ...]) -> None:
    """Send the planned row (or finish one a crash interrupted), then index its events.

    A revert (the chain changed since the checks) fails the row for good: the contract's error as a 409
    with its values, and a new request id may try again. An unreachable chain leaves it planned: repeat.
    """
    if outbox_id is None:
        return
    with ctx.uow(read_only=True) as uow:
        row = uow.session.get(SettlementTx, outbox_id)
        state = row.state if row is not None else TxState.FAILED
    if state == TxState.PLANNED or state == TxState.SENT:
        try:
            ctx.outbox.call(
                c.house,
                "advanceReceivable",
                args,
                kind=ADVANCE_RECEIVABLE,
                done=advance_done(c.house, args),
                row_id=outbox_id,
            )
        except ChainReverted as exc:
            outbox.update_tx(ctx.sessions, outbox_id, state=TxState.FAILED, error=f"reverted: {exc.message}")
            mapped = advance_error(exc)
            if mapped is exc:
                raise Conflict(f"the chain refused the advance: {exc.message}", field=None, error=exc.error) from exc
            raise mapped from exc
    if ctx.outbox.writes_here():
        try:
            chain_sync.sync(ctx.sessions, c)
        except Exception:  # the scheduler's sync indexes it later
            log.exception("chain sync after an advance failed")


# --------------------------------------------------------------------------- reading


def _status(row: ReceivableAdvance, tx_state: str | None) -> str:
    if row.advance_tx is None:
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


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")
