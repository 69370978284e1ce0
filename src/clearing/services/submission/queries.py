"""Reading obligations back: by key, or by id (scoped to its submitter) for members, operators and auditors."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from clearing.adapters.db.models import Hold, Member, Obligation
from clearing.services import obligation_lookup
from clearing.services.context import ServiceContext
from clearing.services.holds import hold_view
from clearing.services.keys import Principal
from clearing.services.submission.types import ObligationView


def load_views(s: Session, keys: Sequence[str]) -> dict[str, ObligationView]:
    """Views of the obligations with these ``obligation_key``\\ s that exist, with their holds, by key."""
    if not keys:
        return {}
    obs = s.scalars(select(Obligation).where(Obligation.obligation_key.in_(list(keys)))).all()
    member_ids = {o.debtor_id for o in obs} | {o.creditor_id for o in obs}
    members = {m.id: m for m in s.scalars(select(Member).where(Member.id.in_(member_ids)))}
    holds: dict[str, list[Hold]] = defaultdict(list)
    for h in s.scalars(select(Hold).where(Hold.obligation_key.in_(list(keys))).order_by(Hold.id)):
        holds[h.obligation_key].append(h)
    out = {}
    for o in obs:
        d, c = members[o.debtor_id], members[o.creditor_id]
        submitter = members[o.submitted_by].name  # the submitter is always the debtor or the creditor
        out[o.obligation_key] = ObligationView(
            id=o.id,
            obligation_key=o.obligation_key,
            submitter=submitter,
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
            holds=tuple(
                hold_view(h, o.id, submitter, o.amount, d.name, c.name) for h in holds.get(o.obligation_key, ())
            ),
        )
    return out


def get(ctx: ServiceContext, principal: Principal, obligation_id: str, submitter: str | None = None) -> ObligationView:
    """The obligation ``obligation_id`` of ``submitter`` (name or address) as ``principal`` may see it.

    A member finds its own submission, or one it is a party to; 404 otherwise (no existence leak).
    Operators and auditors find any; an id several members used needs ``submitter``
    (:mod:`clearing.services.obligation_lookup`).
    """
    with ctx.uow(read_only=True) as uow:
        o = obligation_lookup.find(uow.session, principal, obligation_id, submitter)
        return load_views(uow.session, [o.obligation_key])[o.obligation_key]


def get_any(ctx: ServiceContext, obligation_id: str, submitter: str | None = None) -> ObligationView:
    """:func:`get` as the house sees it (operators, auditors, the demo): any member's obligation."""
    return get(ctx, obligation_lookup.HOUSE, obligation_id, submitter)
