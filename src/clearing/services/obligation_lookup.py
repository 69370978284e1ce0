"""Finding an obligation by the id its submitter chose.

Obligation ids are idempotency keys scoped to the submitting member (Stripe's
convention): two members may use the same id for two obligations, so an id
alone does not always name one obligation. The row's own identity is its
``obligation_key``; this module turns what a caller says (an id, and
optionally the submitting member) into that row, under one visibility rule:

* A member sees obligations it is a party to (it submitted them, or it is
  their debtor or creditor). Without ``submitter`` its own submission with
  that id comes first; failing that, the one obligation with that id it is a
  party to. Anything else is 404, as if the id did not exist, so ids reveal
  nothing across members.
* Operators and auditors see every obligation. Without ``submitter`` an id
  used by one member only is found; an id several members used is
  :class:`~clearing.errors.AmbiguousObligation` (422 naming ``submitter``,
  with the candidates).

``submitter`` is a member name or 0x address.
"""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from clearing.adapters.db.models import Member, Obligation
from clearing.domain.vocabulary import Role
from clearing.errors import AmbiguousObligation, NotFound
from clearing.services.keys import Principal

#: Who the house's own reads act as (audit proofs, the demo, :func:`~clearing.services.submission.get_any`):
#: no member, so every obligation is visible.
HOUSE = Principal(role=Role.AUDITOR, key_id=None)


def find(
    s: Session,
    principal: Principal,
    obligation_id: str,
    submitter: str | None = None,
    *,
    field: str = "id",
    lock: bool = False,
) -> Obligation:
    """The obligation ``obligation_id`` of ``submitter`` that ``principal`` may see (see the module doc).

    ``field`` names the id in errors (``id`` on ``/obligations/{id}``, ``obligation_id`` elsewhere);
    ``lock`` takes the row lock (``FOR UPDATE``).
    """
    q = select(Obligation).where(Obligation.id == obligation_id).order_by(Obligation.obligation_key)
    if submitter is not None:
        who = or_(Member.name == submitter, func.lower(Member.address) == submitter.lower())
        q = q.where(Obligation.submitted_by.in_(select(Member.id).where(who).scalar_subquery()))
    me = principal.member_id
    if me is not None:
        q = q.where(or_(Obligation.debtor_id == me, Obligation.creditor_id == me))
    if lock:
        q = q.with_for_update()
    rows = list(s.scalars(q))
    if me is not None and submitter is None and len(rows) > 1:
        rows = [o for o in rows if o.submitted_by == me] or rows
    if not rows:
        whose = f" submitted by {submitter!r}" if submitter is not None else ""
        raise NotFound(f"no obligation {obligation_id!r}{whose}", field=field, id=obligation_id)
    if len(rows) > 1:
        names = dict(
            s.execute(select(Member.id, Member.name).where(Member.id.in_({o.submitted_by for o in rows}))).all()
        )
        candidates = sorted(names[o.submitted_by] for o in rows)
        raise AmbiguousObligation(
            f"obligation id {obligation_id!r} was used by {len(rows)} members ({', '.join(candidates)}): "
            "name the one that submitted it with submitter",
            field="submitter",
            id=obligation_id,
            submitters=candidates,
        )
    return rows[0]
