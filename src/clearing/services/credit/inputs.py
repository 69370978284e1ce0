"""The score's inputs for many members at once, gathered from the ledger with a few set-based queries.

Volume and on-time settlement come from one aggregate over the obligations
(``adapters/db/credit_store.activity``), drawings of credit and their repayment from
``credit_draws``, disputes and complaints from :func:`incident_counts`, age from the member row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from clearing.adapters.db.credit_store import MONTH, Activity, DrawCounts
from clearing.adapters.db.models import Hold, Obligation
from clearing.domain.credit import CreditInputs

#: Hold rules that record a dispute or a complaint against the debtor (none raises them yet: see below).
DISPUTE_RULES = ("dispute",)
COMPLAINT_RULES = ("complaint",)


@dataclass(frozen=True, slots=True)
class Incidents:
    disputes: int = 0
    complaints: int = 0


def incident_counts(s: Session, member_ids: Sequence[int] | None = None) -> dict[int, Incidents]:
    """Disputes and complaints against each member (as debtor), open or closed.

    For now these are holds whose rule is a dispute or a complaint, and no rule raises such holds
    yet, so this returns no counts; the disputes-and-complaints branch replaces this body with its
    own tables (one GROUP BY per member, as here), and nothing else needs to change.
    """
    rule = Hold.rule
    q = (
        select(
            Obligation.debtor_id,
            func.count().filter(rule.in_(DISPUTE_RULES)),
            func.count().filter(rule.in_(COMPLAINT_RULES)),
        )
        .join(Obligation, Obligation.obligation_key == Hold.obligation_key)
        .where(rule.in_((*DISPUTE_RULES, *COMPLAINT_RULES)))
        .group_by(Obligation.debtor_id)
    )
    if member_ids is not None:
        q = q.where(Obligation.debtor_id.in_(list(member_ids)))
    return {mid: Incidents(int(d), int(c)) for mid, d, c in s.execute(q)}


def age_days(created_at: datetime, now: datetime) -> int:
    return max(0, (now - created_at).days)


def months_of(created_at: datetime, now: datetime, months: int) -> int:
    """How many 30-day months of the window the member has lived in (at least 1, the current one)."""
    lived = max(0, (now - created_at) // MONTH)
    return max(1, min(months, int(lived) + 1))


def credit_inputs(
    created_at: datetime,
    now: datetime,
    months: int,
    activity: Activity | None,
    draws: DrawCounts | None,
    incidents: Incidents | None,
) -> CreditInputs:
    """One member's inputs; ``monthly_volumes`` oldest first, the last 30 days last."""
    a = activity or Activity()
    d = draws or DrawCounts()
    i = incidents or Incidents()
    n = months_of(created_at, now, months)
    return CreditInputs(
        monthly_volumes=tuple(a.volumes.get(k, 0) for k in reversed(range(n))),
        settled_on_time=a.settled_on_time,
        settled_late=a.settled_late,
        disputes=i.disputes,
        complaints=i.complaints,
        defaults=d.defaults,
        age_days=age_days(created_at, now),
        repaid_on_time=d.repaid_on_time,
        repaid_late=d.repaid_late,
    )
