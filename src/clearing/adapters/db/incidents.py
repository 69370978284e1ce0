"""Disputes and complaints as the credit score counts them: by outcome, against the member they name.

How outcomes count: an **upheld** dispute counts against the obligation's
other party (the member it was filed against), a **validated** complaint
against the member complained about. Open ones count for no one yet; a
rejected dispute or a dismissed complaint does not count against its target
(nor, here, against whoever filed it). ``since`` and ``until`` count only incidents filed
in ``[since, until)`` (the filing date is when the trouble happened,
whenever the operator decided).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from clearing.adapters.db.models import Complaint, Dispute
from clearing.domain.vocabulary import ComplaintState, DisputeState

#: Above this many members the filter runs in Python over the grouped rows (one per member), not as an IN list.
_IN_LIST_MAX = 1000


def incident_counts(
    session: Session,
    member_ids: Collection[int] | None,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[int, tuple[int, int]]:
    """Per member id: (upheld disputes against it, validated complaints against it).

    ``member_ids`` None: every member with at least one counted incident (a member missing from the answer
    has ``(0, 0)``); otherwise exactly those members, zeros included. Two grouped queries, whatever the number
    of members.

    Runs in the caller's transaction (it never commits).
    """
    wanted = None if member_ids is None else set(member_ids)
    disputes = _grouped(session, Dispute, Dispute.state == DisputeState.UPHELD, wanted, since, until)
    complaints = _grouped(session, Complaint, Complaint.state == ComplaintState.VALIDATED, wanted, since, until)
    ids = set(disputes) | set(complaints) if wanted is None else wanted
    return {m: (disputes.get(m, 0), complaints.get(m, 0)) for m in ids}


def _grouped(
    session: Session,
    table: type[Dispute] | type[Complaint],
    counted: Any,
    wanted: set[int] | None,
    since: datetime | None,
    until: datetime | None,
) -> dict[int, int]:
    q = select(table.against_id, func.count()).where(counted).group_by(table.against_id)
    if since is not None:
        q = q.where(table.created_at >= since)
    if until is not None:
        q = q.where(table.created_at < until)
    if wanted is not None and len(wanted) <= _IN_LIST_MAX:
        if not wanted:
            return {}
        q = q.where(table.against_id.in_(sorted(wanted)))
    rows = session.execute(q).all()
    return {int(m): int(n) for m, n in rows if wanted is None or m in wanted}
