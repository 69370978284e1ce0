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
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from clearing.adapters.chain.client import advance_error
from clearing.adapters.chain.deploy import Contracts
from clearing.adapters.db.advances import ReceivableAdvance
from clearing.adapters.db.models import Cycle, CyclePosition, Member, Obligation, SettlementTx
from clearing.domain.financing import MAX_DAYS, AdvanceTerms, quote
from clearing.domain.vocabulary import CycleState, MemberStatus, Role, Route, TxState
from clearing.domain.vocabulary import ObligationStatus as S
from clearing.errors import (
    AdvanceExists,
    AdvanceRefused,
    ChainReverted,
    ClearingError,
    Conflict,
    Forbidden,
    NotFound,
    ServiceUnavailable,
)
from clearing.services import chain_sync, outbox
from clearing.services.audit_log import record_action
from clearing.services.context import ServiceContext
from clearing.services.cycles import CHAIN_SETTLED, ELIGIBLE
from clearing.services.financing_calls import ADVANCE_RECEIVABLE, advance_done
from clearing.services.financing_views import AdvanceView, get
from clearing.services.keys import Principal
from clearing.services.operator_actions import check_request_id

log = logging.getLogger(__name__)

#: Obligations whose money is in a committed cycle's escrow (the creditor's credit comes from them).
_IN_ESCROW = (S.NETTED, S.COMMITTED)
#: An open cycle's receivables: obligations accepted (not held, not queued beyond the debtor's headroom).
_OPEN_RECEIVABLE = (S.ACCEPTED,)
_DAY = 86_400
#: Tiers from best to worst.
_TIERS = ("A", "B", "C")


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


def _price(ctx: ServiceContext, s: Session, m: Member, cycle_id: int, *, skip: int | None = None) -> QuoteView:
    """Every check :func:`request` makes, then the price (see the module); 409 ``AdvanceRefused`` naming the field.

    ``skip``: an advance row not to count as the member's advance on the cycle (the scheduled one being paid).
    """
    c = _chain(ctx)
    house = c.house
    cycle = s.get(Cycle, cycle_id)
    if cycle is None:
        raise NotFound(f"cycle {cycle_id} not found", field="cycle_id")
    where = f"cycle {cycle_id}"
    if m.status == MemberStatus.SUSPENDED:
        raise AdvanceRefused(f"{m.name} is suspended: it cannot take an advance", field="authorization")
    if cycle.state == CycleState.OPEN:
        return _price_open(ctx, s, m, cycle_id, skip)
    if cycle.state != CycleState.COMMITTED:
        raise AdvanceRefused(
            f"{where} is {cycle.state}: advances are on credit pending in a COMMITTED cycle "
            "or on accepted receivables in the OPEN one",
            field="cycle_id",
            state=cycle.state,
        )
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
    _no_advance_yet(s, house.advance_of(cycle_id, m.address), m, cycle_id, skip)
    tier, debtors = _debtor_tier(s, m.id, cycle_id)
    return _quoted(ctx, m, cycle_id, receivable, tier, debtors, now, on_chain.claimable_at)


def _price_open(ctx: ServiceContext, s: Session, m: Member, cycle_id: int, skip: int | None) -> QuoteView:
    """An advance on the open cycle's receivables: paid when the cycle commits (:func:`fund_scheduled`).

    The receivable is what the member is owed by ACCEPTED obligations (not held, not queued beyond the
    debtor's headroom) less everything it owes that the cut-off would take into the cycle: netting pays
    only the net credit, and counting every debit is the side that never over-advances. Days run to the
    next scheduled cut-off (``cycle.cutoff_seconds``) plus the contract's claim delay.
    """
    house = _chain(ctx).house
    into_cycle = (
        Obligation.route == Route.NET,
        or_(Obligation.cycle_id.is_(None), Obligation.cycle_id == cycle_id),
    )
    owed_to = s.scalars(
        select(Obligation.amount).where(
            *into_cycle, Obligation.creditor_id == m.id, Obligation.status.in_(_OPEN_RECEIVABLE)
        )
    ).all()
    owes = s.scalars(
        select(Obligation.amount).where(*into_cycle, Obligation.debtor_id == m.id, Obligation.status.in_(ELIGIBLE))
    ).all()
    credit, debit = sum(owed_to), sum(owes)
    if credit - debit <= 0:
        raise AdvanceRefused(
            f"{m.name} has no net receivable in the open cycle {cycle_id} (accepted credit {credit}, debits {debit})",
            field="cycle_id",
            credit=credit,
            debit=debit,
        )
    _no_advance_yet(s, (0, 0), m, cycle_id, skip)
    rows = s.execute(
        select(Member.name, Member.tier)
        .join(Obligation, Obligation.debtor_id == Member.id)
        .where(*into_cycle, Obligation.creditor_id == m.id, Obligation.status.in_(_OPEN_RECEIVABLE))
        .distinct()
    ).all()
    tier, debtors = _worst(rows)
    now = house.chain.timestamp()
    claimable_at = now + ctx.settings.cycle.cutoff_seconds + house.claim_delay()
    return _quoted(ctx, m, cycle_id, credit - debit, tier, debtors, now, claimable_at)


def _quoted(
    ctx: ServiceContext,
    m: Member,
    cycle_id: int,
    receivable: int,
    tier: str,
    debtors: tuple[str, ...],
    now: int,
    claimable_at: int,
) -> QuoteView:
    house = _chain(ctx).house
    days = max(ctx.settings.financing.min_days, -(-(claimable_at - now) // _DAY))
    if days > MAX_DAYS:
        raise AdvanceRefused(
            f"cycle {cycle_id} is claimable in {days} days: more than {MAX_DAYS} is not financed", field="cycle_id"
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
        claimable_at=datetime.fromtimestamp(claimable_at, UTC),
        haircut_bps=q.haircut_bps,
        rate_bps=terms.rate_bps,
        gross=q.gross,
        advance=q.advance,
        fee=q.gross - q.advance,
        pool_liquidity=liquidity,
    )


def _no_advance_yet(
    s: Session, owed_on_chain: tuple[int, int], m: Member, cycle_id: int, skip: int | None = None
) -> None:
    rows = s.scalars(
        select(ReceivableAdvance).where(
            ReceivableAdvance.member_id == m.id,
            ReceivableAdvance.cycle_id == cycle_id,
            ReceivableAdvance.id != (skip or 0),
            ReceivableAdvance.lapsed.is_(None),
        )
    ).all()
    states = dict(
        s.execute(
            select(SettlementTx.id, SettlementTx.state).where(
                SettlementTx.id.in_([r.outbox_id for r in rows if r.outbox_id is not None])
            )
        ).all()
    )
    live = [r for r in rows if r.outbox_id is None or states.get(r.outbox_id) != TxState.FAILED]
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
    return _worst(rows)


def _worst(rows: Sequence[Any]) -> tuple[str, tuple[str, ...]]:
    """The worst tier among (debtor name, tier) rows, and those debtors."""
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
    _send(ctx, c, outbox_id, args)  # nothing to send for an advance on the open cycle: it waits for the commit
    return get(ctx, who, advance_id)


def _plan(ctx: ServiceContext, s: Session, m: Member, request_id: str, q: QuoteView) -> ReceivableAdvance:
    """The outbox row (none yet on an open cycle), the advance's row and the audit-log entry, in the
    caller's unit of work."""
    cycle = s.get(Cycle, q.cycle_id)
    scheduled = cycle is not None and cycle.state == CycleState.OPEN
    item = None if scheduled else _plan_call(s, m.id, request_id, q.cycle_id, m.address, q.advance, q.fee)
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
        outbox_id=item.id if item is not None else None,
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
        {
            "id": request_id,
            "advance": row.id,
            "outbox_id": row.outbox_id,
            "scheduled": scheduled,
            **q.to_dict(),
            "debtors": list(q.debtors),
        },
    )
    return row


def _plan_call(
    s: Session, member_id: int, request_id: str, cycle_id: int, address: str, principal: int, fee: int
) -> outbox.OutboxItem:
    return outbox.plan(
        s,
        ADVANCE_RECEIVABLE,
        cycle_id=cycle_id,
        member_id=member_id,
        payload={
            "request_id": request_id,
            "fn": "advanceReceivable",
            "args": outbox.json_args([cycle_id, address, principal, fee]),
        },
    )


def fund_scheduled(ctx: ServiceContext, cycle_id: int) -> None:
    """After ``cycle_id`` committed (or aborted): pay the advances members took on it while it was open.

    Each is priced again on the committed credit (every check of a committed-cycle advance): the terms
    taken hold when that credit still backs them, else the smaller advance it backs is paid. An advance
    the committed cycle cannot back (the cycle aborted or settled in one step, its credit carried away,
    the pool short) lapses with the reason: no money moved, nothing is owed. Idempotent: a paid or
    lapsed row is not looked at again, and a crash between planning and sending is finished here.
    """
    c = ctx.contracts
    if c is None:
        return
    sends: list[tuple[int, tuple[Any, ...]]] = []
    with ctx.uow() as uow:
        s = uow.session
        if s.get_one(Cycle, cycle_id).state in (CycleState.OPEN, CycleState.CLOSED, CycleState.NETTED):
            return  # not committed nor aborted yet
        rows = s.scalars(
            select(ReceivableAdvance)
            .where(ReceivableAdvance.cycle_id == cycle_id, ReceivableAdvance.advance_tx.is_(None))
            .where(ReceivableAdvance.lapsed.is_(None))
            .order_by(ReceivableAdvance.id)
            .with_for_update()
        ).all()
        # One read for every row: settled at once (settleCycle), the cycle leaves no credit to advance on.
        settled_at_once = bool(rows) and c.house.cycle(cycle_id).status == CHAIN_SETTLED
        for r in rows:
            m = s.get_one(Member, r.member_id)
            if r.outbox_id is None:
                try:
                    if settled_at_once:
                        raise AdvanceRefused(
                            f"cycle {cycle_id} settled in full at once: the credit was paid, no advance was needed",
                            field="cycle_id",
                        )
                    q = _price(ctx, s, m, cycle_id, skip=r.id)
                except (AdvanceRefused, ServiceUnavailable) as exc:
                    r.lapsed = exc.message[:300]
                    record_action(s, "system", "financing.lapsed", {"advance": r.id, "reason": r.lapsed})
                    continue
                if not (r.principal <= q.advance and r.principal + r.fee <= q.receivable):
                    r.receivable, r.days, r.principal, r.fee = q.receivable, q.days, q.advance, q.fee
                r.outbox_id = _plan_call(s, m.id, r.request_id, cycle_id, m.address, r.principal, r.fee).id
                record_action(
                    s, "system", "financing.scheduled_paid", {"advance": r.id, "principal": r.principal, "fee": r.fee}
                )
            sends.append((r.outbox_id, c.house.advance_args(cycle_id, m.address, r.principal, r.fee)))
        uow.commit()
    for outbox_id, args in sends:
        try:
            _send(ctx, c, outbox_id, args)
        except ClearingError:  # the row is FAILED with the chain's reason; the commit itself stands
            log.exception("paying a scheduled advance in cycle %s failed", cycle_id)


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


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")
