"""How submission reads and writes the ledger: the SQL of one obligation batch, per database.

Submission's hot path runs under member row locks, so every statement here is
built once (constructing a statement costs more CPU per request than running
it), rows come back as plain tuples (no ORM identity map), and PostgreSQL gets
its own forms: ``COPY`` for large batches, arrays with ``unnest`` for
per-debtor reads, ``NUMERIC`` sums in SQL. SQLite stores amounts as decimal
text, so there the rows come back and Python sums them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, NamedTuple

from sqlalchemy import Connection, bindparam, insert, or_, select
from sqlalchemy.orm import Session

from clearing.adapters.db.models import Counterparty, Hold, Member, Obligation
from clearing.domain.velocity import UNCOUNTED, at, per_second
from clearing.domain.vocabulary import HoldStatus

__all__ = [
    "COPY_THRESHOLD",
    "CopySink",
    "DriverIntegrityError",
    "LockedMember",
    "ObligationRow",
    "Party",
    "find_parties",
    "insert_counterparties",
    "insert_holds",
    "insert_obligations",
    "known_counterparties",
    "lock_members",
    "stored_obligations",
    "uses_copy",
    "window_buckets",
]

try:  # COPY bypasses SQLAlchemy, so a duplicate (id, submitter) surfaces as the driver's error
    from psycopg.errors import IntegrityError as DriverIntegrityError
except ImportError:  # pragma: no cover - psycopg is a dependency

    class DriverIntegrityError(Exception):  # type: ignore[no-redef]
        """Stands in when psycopg is absent (then COPY is never used)."""


class Party(NamedTuple):
    """A member's identity: fixed at admission, so read without a lock."""

    id: int
    name: str
    address: str


@dataclass(slots=True)
class LockedMember:
    """The member columns a submission reads, from a row locked for the call."""

    id: int
    name: str
    address: str
    tier: str
    status: str
    credit_line: int
    chain_balance: int
    chain_credit_limit: int
    pending_withdrawal: int
    reserved_debit: int
    reserved_credit: int
    obligation_seq: int
    #: The member's own limits as stored (``PATCH /members/{name}/limits``); the risk rules read them.
    single_order_limit: int | None = None
    limit_overrides: dict[str, Any] | None = None
    #: The asset vault's value of its pledges × LTV (chain sync's mirror); counts in headroom.
    chain_pledge_value: int = 0


class ObligationRow(NamedTuple):
    """One new ``obligations`` row as submission decided it."""

    id: str
    debtor_id: int
    creditor_id: int
    amount: int
    reference: str
    on_behalf_of: str | None
    submitted_by: int
    body_hash: str
    signature: str | None
    status: str
    route: str
    shortfall: int | None
    debtor_seq: int
    #: 0x-hex ``keccak256(abi.encode(address submitter, string id))``: the row's key.
    obligation_key: str


_MEMBER_COLUMNS = (
    Member.id,
    Member.name,
    Member.address,
    Member.tier,
    Member.status,
    Member.credit_line,
    Member.chain_balance,
    Member.chain_credit_limit,
    Member.pending_withdrawal,
    Member.reserved_debit,
    Member.reserved_credit,
    Member.obligation_seq,
    Member.single_order_limit,
    Member.limit_overrides,
    Member.chain_pledge_value,
)
_PARTIES = select(Member.id, Member.name, Member.address).where(
    or_(Member.name.in_(bindparam("names", expanding=True)), Member.address.in_(bindparam("addresses", expanding=True)))
)
_LOCK_MEMBERS = (
    select(*_MEMBER_COLUMNS)
    .where(Member.id.in_(bindparam("ids", expanding=True)))
    .order_by(Member.id)
    .with_for_update()
)
_EXISTING = select(Obligation.submitted_by, Obligation.id, Obligation.obligation_key, Obligation.body_hash).where(
    Obligation.id.in_(bindparam("ids", expanding=True))
)
_INSERT_OBLIGATION = insert(Obligation.__table__)
_KNOWN_COUNTERPARTIES = (
    select(Counterparty.debtor_id, Counterparty.creditor_id, Member.name)
    .join(Member, Member.id == Counterparty.creditor_id)
    .where(Counterparty.debtor_id.in_(bindparam("ids", expanding=True)))
)


def find_parties(conn: Connection, names: list[str], addresses: list[str]) -> list[Party]:
    """Members named by slug or by checksummed address."""
    return [Party(*row) for row in conn.execute(_PARTIES, {"names": names, "addresses": addresses})]


def lock_members(conn: Connection, ids: list[int]) -> list[LockedMember]:
    """Member rows locked in id order (deadlock-free), as plain rows."""
    if not ids:
        return []
    return [LockedMember(*row) for row in conn.execute(_LOCK_MEMBERS, {"ids": ids})]


def stored_obligations(conn: Connection, wanted: Iterable[tuple[int, str]]) -> dict[tuple[int, str], tuple[str, str]]:
    """``(key, body hash)`` of each ``(submitting member id, obligation id)`` of ``wanted`` already in the ledger.

    Ids are unique per submitter only: another member's row with the same id is not one of these.
    """
    pairs = set(wanted)
    if not pairs:
        return {}
    rows = conn.execute(_EXISTING, {"ids": sorted({oid for _, oid in pairs})}).all()
    return {(by, oid): (key, h) for by, oid, key, h in rows if (by, oid) in pairs}


def known_counterparties(conn: Connection, debtor_ids: list[int]) -> list[tuple[int, int, str]]:
    """(debtor id, creditor id, creditor name) of every pair that has traded before."""
    return [(d, c, name) for d, c, name in conn.execute(_KNOWN_COUNTERPARTIES, {"ids": debtor_ids})]


def _row_dict(r: ObligationRow, now: datetime) -> dict[str, Any]:
    # Unpacked and a literal, not ``r._asdict()``: this runs once per row of every INSERT-path batch.
    (
        oid,
        debtor_id,
        creditor_id,
        amount,
        reference,
        on_behalf_of,
        submitted_by,
        h,
        signature,
        status,
        route,
        shortfall,
        debtor_seq,
        key,
    ) = r
    return {
        "obligation_key": key, "id": oid, "debtor_id": debtor_id, "creditor_id": creditor_id, "amount": amount,
        "reference": reference, "on_behalf_of": on_behalf_of, "submitted_by": submitted_by, "body_hash": h,
        "signature": signature, "status": status, "route": route, "shortfall": shortfall, "debtor_seq": debtor_seq,
        "created_at": now, "updated_at": now, "cycle_id": None, "leaf": None,
    }  # fmt: skip


def insert_obligations(conn: Connection, rows: Sequence[ObligationRow], now: datetime) -> None:
    """Rows by INSERT (one statement; ``executemany`` for several)."""
    if not rows:
        return
    dicts = [_row_dict(r, now) for r in rows]
    conn.execute(_INSERT_OBLIGATION, dicts[0] if len(dicts) == 1 else dicts)


def insert_holds(
    session: Session, holds: Iterable[tuple[str, str, str, dict[str, Any], datetime | None]], now: datetime
) -> list[Hold]:
    """Hold rows ``(obligation key, rule, message, values, release_after)``, flushed so they have ids."""
    objs = [
        Hold(
            obligation_key=key,
            rule=rule,
            message=message,
            values=values,
            release_after=release_after,
            status=HoldStatus.OPEN,
            created_at=now,
        )
        for key, rule, message, values, release_after in holds
    ]
    if objs:
        session.add_all(objs)
        session.flush()
    return objs


def insert_counterparties(session: Session, pairs: set[tuple[int, int]], now: datetime) -> None:
    """Pairs that traded for the first time (a pair already known is left as it is)."""
    rows = [{"debtor_id": d, "creditor_id": c, "first_seen": now} for d, c in sorted(pairs)]
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    session.connection().execute(dialect_insert(Counterparty.__table__).on_conflict_do_nothing(), rows)


# ----------------------------------------------------------------------------- COPY (PostgreSQL)

#: From this many rows a PostgreSQL batch is written with COPY (one stream, no per-row statement).
COPY_THRESHOLD = 64
#: Rows per chunk sent to the COPY stream (about 40 kB).
_COPY_CHUNK = 256
_COPY_COLUMNS = (
    "obligation_key",
    "id",
    "debtor_id",
    "creditor_id",
    "amount",
    "reference",
    "on_behalf_of",
    "created_at",
    "submitted_by",
    "body_hash",
    "signature",
    "status",
    "route",
    "shortfall",
    "cycle_id",
    "leaf",
    "updated_at",
    "debtor_seq",
)
#: COPY text format: backslash, tab, newline and carriage return are escaped; ``\N`` is NULL.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NEEDS_ESCAPE = re.compile(r"[\\\t\n\r]")


def _copy_text(value: str | None) -> str:
    if value is None:
        return "\\N"
    return value.translate(_COPY_ESCAPES) if _NEEDS_ESCAPE.search(value) else value


def uses_copy(conn: Connection, rows: int) -> bool:
    """Whether a batch of ``rows`` new obligations is written through :class:`CopySink`."""
    return rows >= COPY_THRESHOLD and conn.dialect.name == "postgresql"


class CopySink:
    """Obligation rows streamed to PostgreSQL with COPY while the call still computes the next ones.

    Rows are formatted here as COPY text (one string per chunk, not a dumper call per value) and
    sent every :data:`_COPY_CHUNK` rows, so the server parses and indexes them on another core
    while this thread evaluates the rest; the member locks are held for less time. Used as a
    context manager: leaving it normally ends the COPY, leaving it with an error cancels it.
    """

    def __init__(self, conn: Connection, now: datetime) -> None:
        self._ts = now.isoformat()
        self._lines: list[str] = []
        dbapi = conn.connection.dbapi_connection
        assert dbapi is not None
        self._cursor: Any = dbapi.cursor()
        self._cm: Any = self._cursor.copy(f"COPY obligations ({', '.join(_COPY_COLUMNS)}) FROM STDIN")
        self._copy: Any = None

    def __enter__(self) -> CopySink:
        self._copy = self._cm.__enter__()
        return self

    def add(self, row: ObligationRow) -> None:
        (
            oid,
            debtor_id,
            creditor_id,
            amount,
            reference,
            on_behalf_of,
            submitted_by,
            h,
            signature,
            status,
            route,
            shortfall,
            debtor_seq,
            key,
        ) = row
        ts, null = self._ts, "\\N"
        self._lines.append(
            f"{key}\t{_copy_text(oid)}\t{debtor_id}\t{creditor_id}\t{amount}\t{_copy_text(reference)}\t"
            f"{_copy_text(on_behalf_of)}\t{ts}\t{submitted_by}\t{h}\t{_copy_text(signature)}\t{status}\t"
            f"{route}\t{null if shortfall is None else shortfall}\t{null}\t{null}\t{ts}\t{debtor_seq}\n"
        )
        if len(self._lines) >= _COPY_CHUNK:
            self._flush()

    def _flush(self) -> None:
        if self._lines:
            self._copy.write("".join(self._lines))
            self._lines.clear()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if exc_type is None:
                self._flush()
            self._cm.__exit__(exc_type, exc, tb)
        finally:
            self._cursor.close()


# ----------------------------------------------------------------------------- velocity windows

# Each debtor's counted obligations per second, as (debtor_id, unix second, count, total); PostgreSQL sums
# NUMERIC exactly. SQLite stores amounts as decimal text, so there the rows come back and Python sums.
# Held and rejected obligations are not counted (clearing.domain.velocity.UNCOUNTED).
_COUNTED = "status NOT IN ({})".format(", ".join(f"'{s.value}'" for s in sorted(UNCOUNTED)))
_WINDOW_SQL_PG = (
    "SELECT debtor_id, floor(extract(epoch FROM created_at))::bigint, count(*), sum(amount)::text FROM obligations "
    f"WHERE debtor_id = ANY(%s) AND created_at >= %s AND {_COUNTED} GROUP BY 1, 2"
)
_WINDOW_DELTA_SQL_PG = (
    "SELECT o.debtor_id, floor(extract(epoch FROM o.created_at))::bigint, count(*), sum(o.amount)::text "
    "FROM unnest(%s::bigint[], %s::bigint[], %s::timestamptz[]) AS d(id, seq, since) "
    "JOIN obligations o ON o.debtor_id = d.id AND o.debtor_seq > d.seq AND o.created_at >= d.since "
    f"WHERE o.{_COUNTED} GROUP BY 1, 2"
)
_WINDOW_SQL_SQLITE = (
    "SELECT CAST(strftime('%s', created_at) AS INTEGER), amount FROM obligations "
    f"WHERE debtor_id = ? AND created_at >= ? AND {_COUNTED}"
)
_WINDOW_DELTA_SQL_SQLITE = (
    "SELECT CAST(strftime('%s', created_at) AS INTEGER), amount FROM obligations "
    f"WHERE debtor_id = ? AND debtor_seq > ? AND created_at >= ? AND {_COUNTED}"
)

Buckets = list[tuple[int, int, int]]


def window_buckets(
    conn: Connection, full: Sequence[int], since: int, incremental: Sequence[tuple[int, int, int]]
) -> dict[int, Buckets]:
    """Per-second ``(second, count, total)`` buckets of debtors' counted obligations (neither held nor rejected).

    ``full``: debtors read in full, every obligation in a second ``> since``;
    ``incremental``: ``(debtor id, seq, since)``: only obligations with ``debtor_seq > seq``
    in seconds ``> since``. PostgreSQL answers each group in one round trip.
    """
    out: dict[int, Buckets] = {d: [] for d in full}
    out.update({d: [] for d, _, _ in incremental})
    if conn.dialect.name == "postgresql":
        if full:
            for d, ts, c, t in conn.exec_driver_sql(_WINDOW_SQL_PG, (list(full), at(since + 1))).fetchall():
                out[d].append((int(ts), int(c), int(t)))
        if incremental:
            args = (
                [d for d, _, _ in incremental],
                [seq for _, seq, _ in incremental],
                [at(f + 1) for _, _, f in incremental],
            )
            for d, ts, c, t in conn.exec_driver_sql(_WINDOW_DELTA_SQL_PG, args).fetchall():
                out[d].append((int(ts), int(c), int(t)))
        return out
    for d in full:
        rows = conn.exec_driver_sql(_WINDOW_SQL_SQLITE, (d, _sqlite_time(since + 1))).fetchall()
        out[d] = per_second(rows)
    for d, seq, floor in incremental:
        rows = conn.exec_driver_sql(_WINDOW_DELTA_SQL_SQLITE, (d, seq, _sqlite_time(floor + 1))).fetchall()
        out[d] = per_second(rows)
    return out


def _sqlite_time(unix_seconds: int) -> str:
    return at(unix_seconds).replace(tzinfo=None).isoformat(" ")
