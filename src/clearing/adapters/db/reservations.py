"""Reservation bookkeeping in the ledger: the running sums behind every headroom check.

Each member row carries two running sums, kept in step with obligation
statuses so the headroom check is one row read, not a scan:

* ``reserved_debit``: amounts it owes in obligations whose status is in
  :data:`~clearing.domain.headroom.RESERVED_DEBIT` (accepted, netted, carried, escrow);
* ``reserved_credit``: amounts owed to it in
  :data:`~clearing.domain.headroom.RESERVED_CREDIT` (accepted, netted).

Every status change of an obligation must go through :func:`transition`
(or :func:`apply_deltas` for new rows), which adjusts both sums in the same
transaction. :func:`recompute_reservations` rebuilds them from the rows; tests
and the reconciler compare the two. The rule itself (which status reserves
what) is the domain's: :func:`~clearing.domain.headroom.reservation_delta`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import Session

from clearing.adapters.db.models import Member, Obligation
from clearing.domain.headroom import RESERVED_CREDIT, RESERVED_DEBIT, reservation_delta
from clearing.domain.velocity import UNCOUNTED
from clearing.domain.vocabulary import ObligationStatus as S


def apply_deltas(session: Session, debit: Mapping[int, int], credit: Mapping[int, int]) -> None:
    """Add per-member deltas to the reserved sums (one UPDATE per touched member).

    Computed in Python and written as absolute values: amounts on SQLite are
    text, so ``reserved_debit + x`` cannot run in SQL there. Callers hold the
    member rows locked (``lock_members``) when they read the old values.
    """
    ids = sorted(set(debit) | set(credit))
    if not ids:
        return
    rows = session.execute(
        select(Member.id, Member.reserved_debit, Member.reserved_credit).where(Member.id.in_(ids))
    ).all()
    params = [
        {"mid": mid, "rd": rd + debit.get(mid, 0), "rc": rc + credit.get(mid, 0)}
        for mid, rd, rc in rows
        if debit.get(mid, 0) or credit.get(mid, 0)
    ]
    if params:
        update_reserved(session, params)


_UPDATE_RESERVED = (
    update(Member.__table__)
    .where(Member.__table__.c.id == bindparam("mid"))
    .values(reserved_debit=bindparam("rd"), reserved_credit=bindparam("rc"))
)


def update_reserved(session: Session, params: list[dict[str, int]]) -> None:
    """Write new reserved sums (and ``obligation_seq`` when a param has ``seq``): one round trip per 500 members."""
    conn = session.connection()
    pg = conn.dialect.name == "postgresql"
    with_seq = any("seq" in p for p in params)
    for start in range(0, len(params), 500):
        chunk = params[start : start + 500]
        if len(chunk) == 1 and not with_seq:
            conn.execute(_UPDATE_RESERVED, chunk[0])
            continue
        seq_set = ", obligation_seq = v.seq" if with_seq else ""
        if pg:
            cols = "(%s::bigint, %s::numeric, %s::numeric" + (", %s::bigint)" if with_seq else ")")
            rows = ", ".join([cols] * len(chunk))
            names = "v(mid, rd, rc" + (", seq)" if with_seq else ")")
            sql = (
                f"UPDATE members SET reserved_debit = v.rd, reserved_credit = v.rc{seq_set} FROM (VALUES {rows}) "
                f"AS {names} WHERE members.id = v.mid"
            )
        else:
            cols = "(?, ?, ?" + (", ?)" if with_seq else ")")
            rows = ", ".join([cols] * len(chunk))
            seq_col = ", column4 AS seq" if with_seq else ""
            sql = (
                f"UPDATE members SET reserved_debit = v.rd, reserved_credit = v.rc{seq_set} "
                f"FROM (SELECT column1 AS mid, column2 AS rd, column3 AS rc{seq_col} FROM (VALUES {rows})) AS v "
                "WHERE members.id = v.mid"
            )
        flat: list[object] = []
        for p in chunk:
            flat.extend((p["mid"], str(p["rd"]), str(p["rc"])))
            if with_seq:
                flat.append(p.get("seq"))
        conn.exec_driver_sql(sql, tuple(flat))


#: One statement text whatever the number of members: psycopg caches its parse (the VALUES list of
#: :func:`update_reserved` grows with the members, and re-parsing 50 members' placeholders took
#: longer than running the UPDATE, all of it under the member locks).
_WRITE_RESERVED_PG = (
    "UPDATE members SET reserved_debit = v.rd, reserved_credit = v.rc, obligation_seq = v.seq "
    "FROM unnest(%s::bigint[], %s::text[]::numeric[], %s::text[]::numeric[], %s::bigint[]) AS v(mid, rd, rc, seq) "
    "WHERE members.id = v.mid"
)


def write_reserved(session: Session, changed: list[dict[str, int]]) -> None:
    """New reserved sums and ``obligation_seq`` (``{"mid", "rd", "rc", "seq"}`` each) of locked members."""
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        update_reserved(session, changed)
        return
    conn.exec_driver_sql(
        _WRITE_RESERVED_PG,
        (
            [c["mid"] for c in changed],
            [str(c["rd"]) for c in changed],
            [str(c["rc"]) for c in changed],
            [c["seq"] for c in changed],
        ),
    )


def lock_members(session: Session, member_ids: Iterable[int]) -> dict[int, Member]:
    """Load and lock member rows in id order (deadlock-free on PostgreSQL)."""
    ids = sorted(set(member_ids))
    if not ids:
        return {}
    rows = session.scalars(
        select(Member)
        .where(Member.id.in_(ids))
        .order_by(Member.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    return {m.id: m for m in rows}


def transition(session: Session, obligation_keys: Sequence[str], new_status: str, **fields: Any) -> int:
    """Move obligations (by ``obligation_key``) to ``new_status``, setting ``fields`` too; reservations stay exact.

    Also keeps the velocity windows exact: an obligation released from a hold joins its debtor's
    window and gets the debtor's next ``debtor_seq``; a counted obligation may never become held
    or rejected (``ValueError``). Returns how many rows changed. The caller's unit of work commits.
    """
    new_status = S(new_status)
    if not obligation_keys:
        return 0
    columns = (Obligation.obligation_key, Obligation.debtor_id, Obligation.creditor_id, Obligation.amount)
    rows = session.execute(
        select(*columns, Obligation.status).where(Obligation.obligation_key.in_(list(obligation_keys)))
    ).all()
    lock_members(session, {r.debtor_id for r in rows} | {r.creditor_id for r in rows})
    # Re-read under the member locks: a concurrent transition may have moved them.
    rows = session.execute(
        select(*columns, Obligation.status)
        .where(Obligation.obligation_key.in_(list(obligation_keys)))
        .with_for_update()
    ).all()
    debit: dict[int, int] = defaultdict(int)
    credit: dict[int, int] = defaultdict(int)
    joining: dict[int, list[str]] = defaultdict(list)
    for r in rows:
        d, c = reservation_delta(r.status, new_status)
        debit[r.debtor_id] += d * r.amount
        credit[r.creditor_id] += c * r.amount
        if r.status in UNCOUNTED and new_status not in UNCOUNTED:
            joining[r.debtor_id].append(r.obligation_key)
        elif r.status not in UNCOUNTED and new_status in UNCOUNTED:
            # Cached velocity windows only ever gain rows; one that left would be counted for good.
            raise ValueError(f"obligation {r.obligation_key} is {r.status}: it cannot become {new_status}")
    if rows:
        session.execute(
            update(Obligation)
            .where(Obligation.obligation_key.in_([r.obligation_key for r in rows]))
            .values(status=new_status, **fields)
            .execution_options(synchronize_session=False)
        )
    apply_deltas(session, debit, credit)
    _renumber(session, joining)
    return len(rows)


_BUMP_SEQ = (
    update(Member.__table__)
    .where(Member.__table__.c.id == bindparam("mid"))
    .values(obligation_seq=Member.__table__.c.obligation_seq + bindparam("n"))
    .returning(Member.__table__.c.obligation_seq)
)
_SET_DEBTOR_SEQ = (
    update(Obligation.__table__)
    .where(Obligation.__table__.c.obligation_key == bindparam("key"))
    .values(debtor_seq=bindparam("seq"))
)


def _renumber(session: Session, joining: Mapping[int, list[str]]) -> None:
    """Give obligations that join the velocity window (released from a hold) their debtor's next sequence numbers.

    Every process's cached window is valid up to a ``debtor_seq`` and tops up with the rows
    numbered after it (services/submission/history.py): a released row renumbered here is one
    of those, wherever it was cached. The caller holds the debtor rows locked (as ``transition`` does).
    """
    conn = session.connection()
    params = []
    for debtor_id, keys in sorted(joining.items()):
        last = conn.execute(_BUMP_SEQ, {"mid": debtor_id, "n": len(keys)}).scalar_one()
        params += [{"key": key, "seq": last - len(keys) + k} for k, key in enumerate(sorted(keys), start=1)]
    if params:
        conn.execute(_SET_DEBTOR_SEQ, params)


def transition_cycle(s: Session, cycle_id: int, old: tuple[str, ...], new: str, **fields: Any) -> int:
    """Move every obligation of a cycle in ``old`` to ``new`` with one UPDATE.

    Same reservation rules as :func:`transition` but without an IN-list of
    thousands of ids (slow to plan on PostgreSQL). Obligations of a closed
    cycle are only ever moved by the cycle service, so reading them once under
    the member locks is enough.
    """
    where = (Obligation.cycle_id == cycle_id, Obligation.status.in_(old))
    rows = s.execute(
        select(Obligation.debtor_id, Obligation.creditor_id, Obligation.amount, Obligation.status).where(*where)
    ).all()
    if not rows:
        return 0
    lock_members(s, {r.debtor_id for r in rows} | {r.creditor_id for r in rows})
    debit: dict[int, int] = {}
    credit: dict[int, int] = {}
    for r in rows:
        d, c = reservation_delta(r.status, new)
        debit[r.debtor_id] = debit.get(r.debtor_id, 0) + d * r.amount
        credit[r.creditor_id] = credit.get(r.creditor_id, 0) + c * r.amount
    s.execute(
        update(Obligation).where(*where).values(status=new, **fields).execution_options(synchronize_session=False)
    )
    apply_deltas(s, debit, credit)
    return len(rows)


def recompute_reservations(session: Session) -> dict[int, tuple[int, int]]:
    """Reserved (debit, credit) per member id, summed from the obligation rows (in Python: exact on SQLite)."""
    debit: dict[int, int] = defaultdict(int)
    credit: dict[int, int] = defaultdict(int)
    statuses = list(RESERVED_DEBIT | RESERVED_CREDIT)
    for debtor, creditor, amount, status in session.execute(
        select(Obligation.debtor_id, Obligation.creditor_id, Obligation.amount, Obligation.status).where(
            Obligation.status.in_(statuses)
        )
    ):
        if status in RESERVED_DEBIT:
            debit[debtor] += amount
        if status in RESERVED_CREDIT:
            credit[creditor] += amount
    member_ids = session.scalars(select(Member.id)).all()
    return {m: (debit.get(m, 0), credit.get(m, 0)) for m in member_ids}


def reservation_mismatches(session: Session) -> dict[int, tuple[tuple[int, int], tuple[int, int]]]:
    """Members whose stored sums differ from the recomputed ones: id -> (stored, recomputed)."""
    expected = recompute_reservations(session)
    stored = {
        m: (d, c) for m, d, c in session.execute(select(Member.id, Member.reserved_debit, Member.reserved_credit))
    }
    return {m: (stored[m], expected[m]) for m in expected if stored.get(m) != expected[m]}


def resync_reservations(session: Session, member_ids: Iterable[int] | None = None) -> int:
    """Rewrite the stored reserved sums from the obligation rows, under member locks.

    For code that changes obligation statuses in bulk without :func:`transition`
    (e.g. a cycle step): call this in the same transaction, after the change.
    Returns how many members' sums changed.
    """
    ids = sorted(member_ids) if member_ids is not None else list(session.scalars(select(Member.id).order_by(Member.id)))
    if not ids:
        return 0
    locked = lock_members(session, ids)
    debit: dict[int, int] = defaultdict(int)
    credit: dict[int, int] = defaultdict(int)
    statuses = list(RESERVED_DEBIT | RESERVED_CREDIT)
    q = select(Obligation.debtor_id, Obligation.creditor_id, Obligation.amount, Obligation.status).where(
        Obligation.status.in_(statuses)
    )
    if member_ids is not None:
        q = q.where(or_(Obligation.debtor_id.in_(ids), Obligation.creditor_id.in_(ids)))
    for debtor, creditor, amount, status in session.execute(q):
        if status in RESERVED_DEBIT:
            debit[debtor] += amount
        if status in RESERVED_CREDIT:
            credit[creditor] += amount
    params = []
    for mid, m in locked.items():
        rd, rc = debit.get(mid, 0), credit.get(mid, 0)
        if (m.reserved_debit, m.reserved_credit) != (rd, rc):
            params.append({"mid": mid, "rd": rd, "rc": rc})
    if params:
        update_reserved(session, params)
    return len(params)
