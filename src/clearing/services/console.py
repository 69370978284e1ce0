"""What the browser console shows: the same services the API routers call, joined per page.

The members table reads each column's source once for every member (members with
their liquidity, credit scores, latest forecasts, open alert counts: one query
each, never one per member), then sorts and filters in memory, so it stays fast
with thousands of members. Nothing here decides anything: it only gathers views.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import aliased

from clearing.adapters.db.models import Alert, Member, Obligation
from clearing.domain.vocabulary import AlertState, Role
from clearing.errors import ClearingError, NoForecast, NotFound
from clearing.services import disputes, financing_views, holds, members, pledges
from clearing.services.context import ServiceContext
from clearing.services.credit import views as credit
from clearing.services.forecasts import views as forecasts
from clearing.services.keys import Principal
from clearing.services.webhooks import endpoints

#: Columns the members table sorts by (query parameter ``sort``).
SORTS = ("name", "tier", "status", "score", "headroom", "utilisation", "shortfall", "alerts")


@dataclass(frozen=True, slots=True)
class MemberRow:
    name: str
    tier: str
    status: str
    score: int | None
    headroom: int
    credit_line: int
    credit_used: int
    #: credit_used / credit_line in basis points (None without a line).
    utilisation_bps: int | None
    #: The latest forecast's median end-of-day balance per day (empty: no forecast yet).
    forecast: tuple[int, ...]
    shortfall_date: date | None
    topup: int | None
    open_alerts: int


@dataclass(frozen=True, slots=True)
class TableQuery:
    sort: str = "name"
    descending: bool = False
    #: Case-insensitive substring of the member's name.
    text: str = ""
    tier: str | None = None
    #: Only members whose forecast shows a shortfall or advises a top-up.
    short_only: bool = False


def open_alert_counts(ctx: ServiceContext) -> dict[int, int]:
    """Member id → its alerts not yet resolved (one GROUP BY)."""
    q = (
        select(Alert.member_id, func.count())
        .where(Alert.state != AlertState.RESOLVED, Alert.member_id.is_not(None))
        .group_by(Alert.member_id)
    )
    with ctx.uow(read_only=True) as uow:
        return {int(m): int(n) for m, n in uow.session.execute(q) if m is not None}


def _utilisation(used: int, line: int) -> int | None:
    return None if line <= 0 else used * 10_000 // line


def _sort_key(sort: str) -> Any:
    far = date.max
    keys: dict[str, Any] = {
        "name": lambda r: r.name,
        "tier": lambda r: (r.tier, r.name),
        "status": lambda r: (r.status, r.name),
        "score": lambda r: (r.score if r.score is not None else -1, r.name),
        "headroom": lambda r: (r.headroom, r.name),
        "utilisation": lambda r: (r.utilisation_bps if r.utilisation_bps is not None else -1, r.name),
        "shortfall": lambda r: (r.shortfall_date or far, r.name),
        "alerts": lambda r: (r.open_alerts, r.name),
    }
    return keys[sort]


def members_table(ctx: ServiceContext, query: TableQuery) -> list[MemberRow]:
    """Every member's row, filtered and sorted as ``query`` asks."""
    views = members.list_members(ctx)
    scores = credit.latest_scores(ctx)
    fc = forecasts.latest_briefs(ctx)
    alerts = open_alert_counts(ctx)
    needle = query.text.strip().lower()
    rows = []
    for v in views:
        if needle and needle not in v.name.lower():
            continue
        if query.tier and v.tier != query.tier:
            continue
        f = fc.get(v.id)
        if query.short_only and (f is None or (f.shortfall_date is None and f.topup_amount is None)):
            continue
        liq = v.liquidity
        rows.append(
            MemberRow(
                name=v.name,
                tier=v.tier,
                status=v.status,
                score=scores.get(v.id),
                headroom=liq.headroom,
                credit_line=liq.credit_line,
                credit_used=liq.credit_used,
                utilisation_bps=_utilisation(liq.credit_used, liq.credit_line),
                forecast=() if f is None else f.balance_p50,
                shortfall_date=None if f is None else f.shortfall_date,
                topup=None if f is None else f.topup_amount,
                open_alerts=alerts.get(v.id, 0),
            )
        )
    sort = query.sort if query.sort in SORTS else "name"
    rows.sort(key=_sort_key(sort), reverse=query.descending)
    return rows


@dataclass(frozen=True, slots=True)
class ObligationLine:
    id: str
    submitter: str
    debtor: str
    creditor: str
    amount: int
    status: str
    cycle_id: int | None


def obligations_of(ctx: ServiceContext, member_id: int, *, limit: int = 50) -> list[ObligationLine]:
    """The member's newest obligations, as debtor or creditor (one query)."""
    debtor, creditor, submitter = aliased(Member), aliased(Member), aliased(Member)
    q = (
        select(Obligation, debtor.name, creditor.name, submitter.name)
        .join(debtor, debtor.id == Obligation.debtor_id)
        .join(creditor, creditor.id == Obligation.creditor_id)
        .join(submitter, submitter.id == Obligation.submitted_by)
        .where(or_(Obligation.debtor_id == member_id, Obligation.creditor_id == member_id))
        .order_by(Obligation.created_at.desc(), Obligation.id.desc())
        .limit(limit)
    )
    with ctx.uow(read_only=True) as uow:
        return [ObligationLine(o.id, s, d, c, o.amount, o.status, o.cycle_id) for o, d, c, s in uow.session.execute(q)]


@dataclass(frozen=True, slots=True)
class MemberPage:
    """One member as its own console page and the operator's page of it show it."""

    overview: members.MemberOverview
    credit: credit.CreditView
    forecast: forecasts.MemberForecastView | None
    holds: list[holds.HoldView]
    obligations: list[ObligationLine]
    advances: list[financing_views.AdvanceView]
    pledges: pledges.PledgesView | None
    #: Why a part could not be read (e.g. no chain for pledges), by part.
    missing: dict[str, str]


def _forecast(ctx: ServiceContext, member_id: int) -> forecasts.MemberForecastView | None:
    try:
        return forecasts.of_member(ctx, member_id)
    except NoForecast:
        return None


def member_page(ctx: ServiceContext, viewer: Principal, name: str) -> MemberPage:
    """``name``'s page for ``viewer``: an operator sees any member, a member only itself (else NotFound)."""
    if viewer.role != Role.OPERATOR and viewer.member_name != name:
        raise NotFound(f"no member {name!r}", field="name", name=name)
    view = members.get(ctx, name)
    missing: dict[str, str] = {}
    try:
        held: list[pledges.PledgesView] = [pledges.pledges_of(ctx, name)]
    except ClearingError as exc:  # no chain or no vault on this server
        held, missing["pledges"] = [], exc.message
    mine = holds.list_holds(ctx, status=None, member_id=view.id, limit=100)
    advances = [a for a in financing_views.list_advances(ctx, viewer) if a.member == name]
    return MemberPage(
        overview=members.overview(ctx, view.id),
        credit=credit.credit_of(ctx, view.id, history=10),
        forecast=_forecast(ctx, view.id),
        holds=mine,
        obligations=obligations_of(ctx, view.id),
        advances=advances,
        pledges=held[0] if held else None,
        missing=missing,
    )


@dataclass(frozen=True, slots=True)
class MemberExtras:
    """What only the member itself sees on its page: disputes, withdrawals, webhooks and their deliveries."""

    disputes: list[disputes.DisputeView]
    withdrawals: list[members.WithdrawalView]
    webhooks: list[endpoints.EndpointView]
    deliveries: dict[int, list[endpoints.DeliveryView]]


def member_extras(ctx: ServiceContext, me: Principal) -> MemberExtras:
    assert me.member_id is not None
    hooks = endpoints.list_endpoints(ctx, me, mine=True)
    return MemberExtras(
        disputes=disputes.list_disputes(ctx, me, state=None, member=None, limit=50),
        withdrawals=members.list_withdrawals(ctx, me.member_id),
        webhooks=hooks,
        deliveries={h.id: endpoints.deliveries(ctx, me, h.id, limit=20) for h in hooks},
    )
