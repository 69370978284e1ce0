"""Reading obligations back: one member's own, or any for operators and auditors."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from clearing.adapters.db.models import Hold, Member, Obligation
from clearing.errors import NotFound
from clearing.services.context import ServiceContext
from clearing.services.holds import hold_view
from clearing.services.keys import Principal
from clearing.services.submission.types import ObligationView


def load_views(s: Session, ids: Sequence[str]) -> dict[str, ObligationView]:
    """Views of the obligations ``ids`` that exist, with their holds."""
    if not ids:
        return {}
    obs = s.scalars(select(Obligation).where(Obligation.id.in_(list(ids)))).all()
    member_ids = {o.debtor_id for o in obs} | {o.creditor_id for o in obs}
    members = {m.id: m for m in s.scalars(select(Member).where(Member.id.in_(member_ids)))}
    holds: dict[str, list[Hold]] = defaultdict(list)
    for h in s.scalars(select(Hold).where(Hold.obligation_id.in_(list(ids))).order_by(Hold.id)):
        holds[h.obligation_id].append(h)
    out = {}
    for o in obs:
        d, c = members[o.debtor_id], members[o.creditor_id]
        out[o.id] = ObligationView(
            id=o.id,
            debtor=d.name,
            creditor=c.name,
            debtor_address=d.address,
            creditor_address=c.address,
            amount=o.amount,
            reference=o.reference,
            on_behalf_of=o.on_behalf_of,
            created_at=o.created_at,
            status=o.status,
            route=o.route,
            shortfall=o.shortfall,
            cycle_id=o.cycle_id,
            signed=o.signature is not None,
            holds=tuple(hold_view(h, o.amount, d.name, c.name) for h in holds.get(o.id, ())),
        )
    return out


def get_for_member(ctx: ServiceContext, principal: Principal, obligation_id: str) -> ObligationView:
    """An obligation the member is debtor or creditor of; 404 otherwise (no existence leak)."""
    with ctx.uow(read_only=True) as uow:
        views = load_views(uow.session, [obligation_id])
    view = views.get(obligation_id)
    if view is None or (principal.member_id is not None and principal.member_name not in (view.debtor, view.creditor)):
        raise NotFound(f"no obligation {obligation_id!r}", field="id", id=obligation_id)
    return view


def get_any(ctx: ServiceContext, obligation_id: str) -> ObligationView:
    """For operators and auditors."""
    with ctx.uow(read_only=True) as uow:
        views = load_views(uow.session, [obligation_id])
    if obligation_id not in views:
        raise NotFound(f"no obligation {obligation_id!r}", field="id", id=obligation_id)
    return views[obligation_id]
