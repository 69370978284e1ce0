"""The credit score's inputs, read from the ledger with set-based SQL: one definition for every caller.

:func:`gather_credit_inputs` builds :class:`~clearing.domain.credit.CreditInputs`
for many members at once (the live rescoring service ``services/credit/rescore.py``,
``clearing bench credit``, the backtest's definitions in ``docs/credit.md``). Months are
30-day windows ending at ``as_of`` (excluded), oldest first; an obligation
belongs to the month of its ``created_at``.

- **monthly volume**: amounts of ``settled`` obligations the member was
  debtor *or* creditor of (every route);
- **settled on time / late**: the member's ``settled`` obligations as
  debtor on the netting route. The ledger records a carry by moving the
  obligation back to ``carried`` with no cycle; the next cut-off takes it
  again and, once settled, it keeps only the cycle it *finally* settled in.
  So an obligation settled late is one created before the cut-off of the
  cycle preceding its own: it was eligible at an earlier cut-off and did not
  settle there. Obligations that were ever held are in neither count (their
  delay was the house's review, not the debtor's funding);
- **disputes, complaints**: upheld disputes and validated complaints against
  the member, filed in the window (:func:`~clearing.adapters.db.incidents.incident_counts`);
- **drawings of credit** (``credit_draws``, every drawing made by ``as_of``, not only the window's:
  a default is history the score keeps): **repaid on time** / **repaid late**,
  repaid by ``as_of`` by / after the deadline (the score counts them with the
  settlements); **defaults**: drawings due before ``as_of`` and not repaid by it
  (:func:`drawing_counts`; those a declared default closed are counted by it instead),
  plus every default declared by ``as_of`` (``member_defaults``, cured ones too);
- **age**: whole days from ``members.created_at`` to ``as_of``.

PostgreSQL sums the exact ``NUMERIC`` amounts in SQL; SQLite keeps amounts
as text (``adapters/db/types.py``), so there the rows are read and summed in
Python, with the same filters.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from clearing.adapters.db.incidents import incident_counts
from clearing.adapters.db.member_defaults import declared_counts
from clearing.adapters.db.models import CreditDraw, Cycle, Hold, Member, Obligation
from clearing.domain.credit import CreditInputs
from clearing.domain.vocabulary import ObligationStatus, Route

__all__ = [
    "DAYS_PER_MONTH",
    "aggregate_statements",
    "drawing_counts",
    "gather_credit_inputs",
    "month_bounds",
    "obligation_flags",
]

DAYS_PER_MONTH = 30
#: A drawing closed by a declared default (``services/credit/draws.py``).
DEFAULTED = "defaulted"


def month_bounds(as_of: datetime, months: int) -> list[tuple[datetime, datetime]]:
    """``[start, end)`` of each 30-day month ending at ``as_of``, oldest first.

    >>> from datetime import UTC
    >>> [(a.day, b.day) for a, b in month_bounds(datetime(2026, 3, 31, tzinfo=UTC), 2)]
    [(30, 1), (1, 31)]
    """
    step = timedelta(days=DAYS_PER_MONTH)
    return [(as_of - (months - k) * step, as_of - (months - k - 1) * step) for k in range(months)]


def obligation_flags() -> tuple[Any, ColumnElement[bool], ColumnElement[bool]]:
    """(obligations joined to their cycle's previous cut-off and to holds, on-time condition, late condition).

    The previous cut-off is ``lag(cutoff_at)`` over cycles in id order (one
    cycle is open at a time, so ids follow cut-offs). Holds are an outer join
    to the distinct held ids rather than a correlated ``NOT EXISTS``: inside
    an aggregate's ``FILTER`` that would run once per row.
    """
    prev = select(Cycle.id, func.lag(Cycle.cutoff_at).over(order_by=Cycle.id).label("prev_cutoff")).subquery("prev")
    held = select(Hold.obligation_key).distinct().subquery("held")
    joined = Obligation.__table__.outerjoin(prev, prev.c.id == Obligation.cycle_id).outerjoin(
        held, held.c.obligation_key == Obligation.obligation_key
    )
    netted = and_(Obligation.route == Route.NET, Obligation.cycle_id.is_not(None), held.c.obligation_key.is_(None))
    late = and_(netted, prev.c.prev_cutoff.is_not(None), Obligation.created_at < prev.c.prev_cutoff)
    on_time = and_(netted, or_(prev.c.prev_cutoff.is_(None), Obligation.created_at >= prev.c.prev_cutoff))
    return joined, on_time, late


def _window(as_of: datetime, months: int, member_ids: Collection[int] | None, side: Any) -> list[Any]:
    start = as_of - timedelta(days=DAYS_PER_MONTH * months)
    where = [
        Obligation.status == ObligationStatus.SETTLED,
        Obligation.created_at >= start,
        Obligation.created_at < as_of,
    ]
    if member_ids is not None:
        where.append(side.in_(list(member_ids)))
    return where


def aggregate_statements(
    as_of: datetime, months: int, member_ids: Collection[int] | None = None
) -> tuple[Select[Any], Select[Any]]:
    """The two statements PostgreSQL aggregates with: by debtor (a volume per month, then the on-time
    and late counts) and by creditor (a volume per month). Public so a benchmark can run them bare."""
    bounds = month_bounds(as_of, months)
    joined, on_time, late = obligation_flags()

    def by_month(side: Any) -> Select[Any]:
        cols = [
            func.sum(Obligation.amount).filter(and_(Obligation.created_at >= lo, Obligation.created_at < hi))
            for lo, hi in bounds
        ]
        return select(side, *cols)

    debtor = (
        by_month(Obligation.debtor_id)
        .add_columns(func.count().filter(on_time), func.count().filter(late))
        .select_from(joined)
        .where(*_window(as_of, months, member_ids, Obligation.debtor_id))
        .group_by(Obligation.debtor_id)
    )
    creditor = (
        by_month(Obligation.creditor_id)
        .where(*_window(as_of, months, member_ids, Obligation.creditor_id))
        .group_by(Obligation.creditor_id)
    )
    return debtor, creditor


def _sums_in_sql(
    session: Session, as_of: datetime, months: int, member_ids: Collection[int] | None
) -> tuple[dict[int, list[int]], dict[int, tuple[int, int]]]:
    """Volumes (debtor + creditor side) and on-time/late counts, aggregated by PostgreSQL."""
    debtor, creditor = aggregate_statements(as_of, months, member_ids)
    volumes: dict[int, list[int]] = {}
    counts: dict[int, tuple[int, int]] = {}
    for member, *row in session.execute(debtor):
        volumes[member] = [int(v or 0) for v in row[:months]]
        counts[member] = (int(row[months]), int(row[months + 1]))
    for member, *row in session.execute(creditor):
        mine = volumes.setdefault(member, [0] * months)
        for k, v in enumerate(row):
            mine[k] += int(v or 0)
    return volumes, counts


def _sums_in_python(
    session: Session, as_of: datetime, months: int, member_ids: Collection[int] | None
) -> tuple[dict[int, list[int]], dict[int, tuple[int, int]]]:
    """The same as :func:`_sums_in_sql`, for databases that cannot sum amounts exactly (SQLite)."""
    bounds = month_bounds(as_of, months)
    joined, on_time, late = obligation_flags()
    where = _window(as_of, months, None, None)
    if member_ids is not None:
        ids = list(member_ids)
        where.append(or_(Obligation.debtor_id.in_(ids), Obligation.creditor_id.in_(ids)))
    rows = session.execute(
        select(Obligation.debtor_id, Obligation.creditor_id, Obligation.amount, Obligation.created_at, on_time, late)
        .select_from(joined)
        .where(*where)
    )
    wanted = None if member_ids is None else set(member_ids)
    volumes: dict[int, list[int]] = {}
    counts: dict[int, tuple[int, int]] = {}
    for debtor, creditor, amount, created, is_on_time, is_late in rows:
        k = next(i for i, (lo, hi) in enumerate(bounds) if lo <= created < hi)
        for member in (debtor, creditor):
            if wanted is None or member in wanted:
                volumes.setdefault(member, [0] * months)[k] += amount
        if wanted is None or debtor in wanted:
            a, b = counts.get(debtor, (0, 0))
            counts[debtor] = (a + bool(is_on_time), b + bool(is_late))
    return volumes, counts


def _ages(session: Session, as_of: datetime, member_ids: Collection[int] | None) -> dict[int, int]:
    """Whole days since each member was created; with no ids, every member created before ``as_of``."""
    chosen = Member.id.in_(list(member_ids)) if member_ids is not None else Member.created_at < as_of
    query = select(Member.id, Member.created_at).where(chosen)
    return {mid: max(0, (as_of - created).days) for mid, created in session.execute(query)}


def drawing_counts(
    session: Session, member_ids: Collection[int] | None, *, as_of: datetime
) -> dict[int, tuple[int, int, int]]:
    """Per member with drawings: (repaid by the deadline, repaid after it, unpaid past it), as of ``as_of``.

    A drawing a declared default closed (status ``defaulted``) is not counted unpaid here: the
    declaration itself counts (:func:`~clearing.adapters.db.member_defaults.declared_counts`).

    One ``GROUP BY`` over counts and dates (exact on every database). A repayment at ``as_of`` itself
    counts as made (rescoring records repayments at its own time, then reads them).
    """
    d = CreditDraw
    repaid = and_(d.status == "repaid", d.repaid_at <= as_of)
    q = (
        select(
            d.member_id,
            func.count().filter(repaid, d.repaid_at <= d.due_at),
            func.count().filter(repaid, d.repaid_at > d.due_at),
            func.count().filter(d.due_at < as_of, ~repaid, d.status != DEFAULTED),
        )
        .where(d.drawn_at <= as_of)
        .group_by(d.member_id)
    )
    if member_ids is not None:
        q = q.where(d.member_id.in_(list(member_ids)))
    return {int(m): (int(a), int(b), int(c)) for m, a, b, c in session.execute(q)}


def gather_credit_inputs(
    session: Session, member_ids: Collection[int] | None, *, as_of: datetime, months: int = 3
) -> dict[int, CreditInputs]:
    """Each member's inputs over the ``months`` 30-day months ending at ``as_of`` (all members if None).

    Set-based, whatever the number of members: two aggregate statements over
    the obligations, one read of the members, two grouped counts of incidents
    and one each of drawings and declared defaults. Members with no settled obligation get zero volumes
    and counts; unknown ids, and with ``member_ids`` None members created at
    or after ``as_of``, are absent.
    """
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware (UTC)")
    if months < 1:
        raise ValueError(f"months must be ≥ 1, got {months}")
    ages = _ages(session, as_of, member_ids)
    pg = session.get_bind().dialect.name == "postgresql"
    volumes, counts = (_sums_in_sql if pg else _sums_in_python)(session, as_of, months, member_ids)
    since = as_of - timedelta(days=DAYS_PER_MONTH * months)
    incidents: Mapping[int, tuple[int, int]] = incident_counts(session, member_ids, since=since, until=as_of)
    drawings = drawing_counts(session, member_ids, as_of=as_of)
    declared = declared_counts(session, member_ids, as_of=as_of)
    zeros = [0] * months
    out: dict[int, CreditInputs] = {}
    for mid, age in ages.items():
        on_time, late = counts.get(mid, (0, 0))
        disputes, complaints = incidents.get(mid, (0, 0))
        repaid_on_time, repaid_late, defaults = drawings.get(mid, (0, 0, 0))
        out[mid] = CreditInputs(
            monthly_volumes=tuple(volumes.get(mid, zeros)),
            settled_on_time=on_time,
            settled_late=late,
            disputes=disputes,
            complaints=complaints,
            defaults=defaults + declared.get(mid, 0),
            age_days=age,
            repaid_on_time=repaid_on_time,
            repaid_late=repaid_late,
        )
    return out
