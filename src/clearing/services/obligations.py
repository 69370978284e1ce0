"""Submitting obligations: validate, de-duplicate, risk rules, headroom, record.

One call handles one obligation or a batch of up to ``api.max_batch``, in ONE
transaction. The policy:

* Anything wrong with the request itself (unknown member, submitter not a
  party, missing or bad debtor signature, same id reused with another body)
  rejects the whole batch and writes nothing: :class:`BatchRejected` lists
  every bad item (422; 409 when every problem is an id conflict).
* Business outcomes are per item: ``accepted``; ``held`` (with every hold's
  rule and numbers); ``escrow`` (tier C per-order route); and
  ``queued_beyond_headroom`` with the ``shortfall`` — accepted into the queue,
  never dropped.
* Retries are safe: the client's id is the key. Same id and same body
  returns the stored obligation (``replayed``); another body is a conflict.

Concurrency: member rows of every debtor and creditor of the obligations to
record are locked in id order before the rules and headroom run, so two
requests can never both spend the same headroom; an id inserted concurrently
by another transaction makes the insert fail and the call is retried once
with the now-visible row. Request-level checks (signatures, body hashes) run
before the locks — a member's id, name and address never change once
admitted — and results are built after the commit, so the locks cover only
the rules, headroom and the writes.

Velocity: the rules get each debtor's obligations in the window as a count
and a total (:attr:`clearing.domain.risk.History.window_count`), exact, and a
batch advances them item by item: O(1) per obligation. Each process caches
every debtor's window summed per second as of a per-debtor sequence number
and reads only rows past it. ``api.history_limit = 0`` switches the history
off (a diagnostic); other values no longer cap anything.
"""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from eth_utils import is_hex_address, to_checksum_address
from sqlalchemy import bindparam, insert, or_, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from clearing.adapters.db.models import Counterparty, Hold, Member, Obligation
from clearing.domain.vocabulary import HoldStatus, MemberStatus
from clearing.domain.vocabulary import ObligationStatus as S
from clearing.domain.types import Obligation as DomainObligation
from clearing.errors import (
    BatchRejected,
    ClearingError,
    InvalidSignature,
    NotAParty,
    NotFound,
    ObligationConflict,
    ServiceUnavailable,
    ValidationError,
)
from clearing.services.context import ServiceContext
from clearing.services.keys import Principal
from clearing.services.ledger import liquidity_of, reservation_delta
from clearing.services.signatures import signed_by


@dataclass(frozen=True, slots=True)
class ObligationInput:
    """One obligation as submitted; ``debtor``/``creditor`` are member names or 0x addresses."""

    id: str
    debtor: str
    creditor: str
    amount: int
    reference: str = ""
    on_behalf_of: str | None = None
    signature: str | None = None


@dataclass(frozen=True, slots=True)
class HoldView:
    id: int
    rule: str
    message: str
    values: dict[str, Any]
    release_after: datetime | None
    status: str


@dataclass(frozen=True, slots=True)
class ObligationView:
    id: str
    debtor: str
    creditor: str
    debtor_address: str
    creditor_address: str
    amount: int
    reference: str
    on_behalf_of: str | None
    created_at: datetime
    status: str
    route: str
    shortfall: int | None
    cycle_id: int | None
    signed: bool
    holds: tuple[HoldView, ...] = ()


@dataclass(frozen=True, slots=True)
class SubmitResult:
    index: int
    replayed: bool
    obligation: ObligationView


def body_hash(id: str, debtor_address: str, creditor_address: str, amount: int, reference: str, on_behalf_of: str | None) -> str:
    """Identity of an obligation's content (the signature is not part of it)."""
    text = "\x1f".join((id, debtor_address.lower(), creditor_address.lower(), str(amount), reference, on_behalf_of or ""))
    return hashlib.sha256(text.encode()).hexdigest()


class _Party(NamedTuple):
    """A member's identity: fixed at admission, so read without a lock."""

    id: int
    name: str
    address: str


@dataclass(slots=True)
class _LockedMember:
    """The member columns a submission reads (plain row, no ORM identity map: cheaper per request)."""

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


_MEMBER_COLUMNS = (
    Member.id, Member.name, Member.address, Member.tier, Member.status, Member.credit_line, Member.chain_balance,
    Member.chain_credit_limit, Member.pending_withdrawal, Member.reserved_debit, Member.reserved_credit,
    Member.obligation_seq,
)
# Statements built once: constructing them costs more CPU per request than running them.
_PARTIES = select(Member.id, Member.name, Member.address).where(
    or_(Member.name.in_(bindparam("names", expanding=True)), Member.address.in_(bindparam("addresses", expanding=True)))
)
_LOCK_MEMBERS = (
    select(*_MEMBER_COLUMNS).where(Member.id.in_(bindparam("ids", expanding=True))).order_by(Member.id).with_for_update()
)
_EXISTING = select(Obligation.id, Obligation.body_hash).where(Obligation.id.in_(bindparam("ids", expanding=True)))
_INSERT_OBLIGATION = insert(Obligation.__table__)
#: From this many rows a PostgreSQL batch is written with COPY (one stream, no per-row statement).
_COPY_THRESHOLD = 64
#: Rows per chunk sent to the COPY stream (about 40 kB).
_COPY_CHUNK = 256
_COPY_COLUMNS = ("id", "debtor_id", "creditor_id", "amount", "reference", "on_behalf_of", "created_at", "submitted_by",
                 "body_hash", "signature", "status", "route", "shortfall", "cycle_id", "leaf", "updated_at", "debtor_seq")

try:  # COPY bypasses SQLAlchemy, so a duplicate id surfaces as the driver's error
    from psycopg.errors import IntegrityError as _DriverIntegrityError
except ImportError:  # pragma: no cover - psycopg is a dependency
    class _DriverIntegrityError(Exception):  # type: ignore[no-redef]
        pass


class _NewRow(NamedTuple):
    """An obligation this call records (its columns are derived from these)."""

    item: ObligationInput
    debtor: _LockedMember
    creditor: _LockedMember
    body_hash: str
    status: str
    route: str
    shortfall: int | None
    debtor_seq: int
    submitted_by: int


def _row_dict(r: _NewRow, now: datetime) -> dict[str, Any]:
    it = r.item
    return {
        "id": it.id, "debtor_id": r.debtor.id, "creditor_id": r.creditor.id, "amount": it.amount,
        "reference": it.reference, "on_behalf_of": it.on_behalf_of, "created_at": now, "submitted_by": r.submitted_by,
        "body_hash": r.body_hash, "signature": it.signature, "status": r.status, "route": r.route,
        "shortfall": r.shortfall, "cycle_id": None, "leaf": None, "updated_at": now, "debtor_seq": r.debtor_seq,
    }


#: COPY text format: backslash, tab, newline and carriage return are escaped; ``\N`` is NULL.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NEEDS_ESCAPE = re.compile(r"[\\\t\n\r]")


def _copy_text(value: str | None) -> str:
    if value is None:
        return "\\N"
    return value.translate(_COPY_ESCAPES) if _NEEDS_ESCAPE.search(value) else value


class _CopySink:
    """Obligation rows streamed to PostgreSQL with COPY while the call still computes the next ones.

    Rows are formatted here as COPY text (one string per chunk, not a dumper call per value) and
    sent every :data:`_COPY_CHUNK` rows, so the server parses and indexes them on another core
    while this thread evaluates the rest; the member locks are held for less time. Used as a
    context manager: leaving it normally ends the COPY, leaving it with an error cancels it.
    """

    def __init__(self, conn: Any, now: datetime) -> None:
        self._ts = now.isoformat()
        self._lines: list[str] = []
        self._cursor = conn.connection.dbapi_connection.cursor()
        self._cm = self._cursor.copy(f"COPY obligations ({', '.join(_COPY_COLUMNS)}) FROM STDIN")

    def __enter__(self) -> _CopySink:
        self._copy = self._cm.__enter__()
        return self

    def add(self, row: _NewRow) -> None:
        it, debtor, creditor, h, status, route, shortfall, debtor_seq, submitted_by = row
        ts, null = self._ts, "\\N"
        self._lines.append(
            f"{_copy_text(it.id)}\t{debtor.id}\t{creditor.id}\t{it.amount}\t{_copy_text(it.reference)}\t"
            f"{_copy_text(it.on_behalf_of)}\t{ts}\t{submitted_by}\t{h}\t{_copy_text(it.signature)}\t{status}\t"
            f"{route}\t{null if shortfall is None else shortfall}\t{null}\t{null}\t{ts}\t{debtor_seq}\n"
        )
        if len(self._lines) >= _COPY_CHUNK:
            self._flush()

    def _flush(self) -> None:
        if self._lines:
            self._copy.write("".join(self._lines))
            self._lines.clear()

    def __exit__(self, *exc: Any) -> None:
        try:
            if exc[0] is None:
                self._flush()
            self._cm.__exit__(*exc)
        finally:
            self._cursor.close()


_KNOWN_COUNTERPARTIES = (
    select(Counterparty.debtor_id, Counterparty.creditor_id, Member.name)
    .join(Member, Member.id == Counterparty.creditor_id)
    .where(Counterparty.debtor_id.in_(bindparam("ids", expanding=True)))
)


def submit(ctx: ServiceContext, submitter: Principal, items: Sequence[ObligationInput], *, batch: bool) -> list[SubmitResult]:
    """Record ``items`` for ``submitter`` (a member principal); see the module doc for the policy."""
    if submitter.member_id is None:
        raise NotAParty("only member keys submit obligations", field="authorization")
    if not items:
        raise ValidationError("a batch needs at least one obligation", field="items")
    results = _with_retries(ctx, [submitter] * len(items), items, batch=batch, isolate=False)
    return results  # type: ignore[return-value]  # not isolated: every entry is a SubmitResult


def submit_group(ctx: ServiceContext, requests: Sequence[tuple[Principal, ObligationInput]]) -> list[SubmitResult | ClearingError]:
    """Group commit: independent single submissions, in order, in ONE transaction.

    Each entry's outcome is what submitting it alone, in this order, would give
    (its result, or the error it would raise); one durable commit covers them all.
    """
    for principal, _ in requests:
        if principal.member_id is None:
            raise NotAParty("only member keys submit obligations", field="authorization")
    return _with_retries(ctx, [p for p, _ in requests], [it for _, it in requests], batch=False, isolate=True)


def _with_retries(ctx: ServiceContext, submitters: Sequence[Principal], items: Sequence[ObligationInput], *,
                  batch: bool, isolate: bool) -> list[SubmitResult | ClearingError]:
    attempts = 3
    for attempt in range(attempts):
        try:
            after_commit: list[Callable[[], None]] = []
            with ctx.uow() as uow:  # SQLite takes the write lock here (BEGIN IMMEDIATE)
                results = _submit_once(ctx, uow.session, submitters, items, batch=batch,
                                       check_existing=attempt > 0, isolate=isolate, after_commit=after_commit)
                uow.commit()
            for hook in after_commit:  # only what is durable may reach the process caches
                hook()
            return results()
        except (IntegrityError, _DriverIntegrityError):
            # Another transaction inserted one of these ids first: redo, seeing it.
            if attempt == attempts - 1:
                raise
        except OperationalError as exc:
            # SQLite: another writer held the lock past busy_timeout. Nothing was written.
            if "locked" in str(exc.orig).lower() or "busy" in str(exc.orig).lower():
                raise ServiceUnavailable("the ledger is busy with another write; retry shortly",
                                         field=None, retry_after=1) from None
            raise
    raise AssertionError("unreachable")


def _resolve_ref(ref: str, by_name: dict[str, _Party], by_address: dict[str, _Party]) -> _Party | None:
    if ref.startswith(("0x", "0X")):
        return by_address.get(ref.lower())
    return by_name.get(ref)


def _submit_once(
    ctx: ServiceContext, s: Session, submitters: Sequence[Principal], items: Sequence[ObligationInput], *, batch: bool,
    check_existing: bool, isolate: bool = False, after_commit: list[Callable[[], None]] | None = None,
) -> Callable[[], list[SubmitResult | ClearingError]]:
    """One attempt in the caller's transaction. ``submitters[i]`` submitted ``items[i]``.

    Returns what builds the results: call it after the commit.

    ``isolate``: items are independent requests (group commit of single submissions): a
    problem with one is returned in its place and the others proceed, exactly as if each had
    been submitted alone in this order. Otherwise any problem raises for the whole call.
    """
    now = ctx.clock()
    conn = s.connection()
    # 1. Who the items name. A member's id, name and address never change once admitted, so this
    #    read takes no lock: every request-level check (signatures, body hashes) runs before any
    #    member row is locked, and the locks cover only the rules, headroom and the writes.
    refs = {r for it in items for r in (it.debtor, it.creditor)}
    names = [r for r in refs if not r.startswith(("0x", "0X"))]
    addresses = [to_checksum_address(r) for r in refs if r.startswith(("0x", "0X")) and is_hex_address(r)]
    parties = [_Party(*row) for row in conn.execute(_PARTIES, {"names": names, "addresses": addresses})]
    by_name = {m.name: m for m in parties}
    by_address = {m.address.lower(): m for m in parties}

    # 2. Request-level validation of every item; collect every problem.
    problems: list[tuple[int, str, ClearingError]] = []
    resolved: list[tuple[_Party, _Party, str] | None] = []
    first_seen: dict[str, tuple[int, str]] = {}
    duplicate_of: dict[int, int] = {}
    domain = ctx.signing_domain
    for i, it in enumerate(items):
        submitter = submitters[i]
        try:
            debtor = _resolve_ref(it.debtor, by_name, by_address)
            creditor = _resolve_ref(it.creditor, by_name, by_address)
            if debtor is None:
                raise ValidationError(f"unknown member {it.debtor!r}", field="debtor", member=it.debtor)
            if creditor is None:
                raise ValidationError(f"unknown member {it.creditor!r}", field="creditor", member=it.creditor)
            if debtor.id == creditor.id:
                raise ValidationError("debtor and creditor are the same member", field="creditor", member=debtor.name)
            if submitter.member_id not in (debtor.id, creditor.id):
                raise NotAParty(
                    f"obligation {it.id!r}: the submitting member is neither its debtor nor its creditor", field="debtor"
                )
            needs_signature = submitter.member_id != debtor.id
            if it.signature is not None or needs_signature:
                if it.signature is None:
                    raise InvalidSignature(
                        f"obligation {it.id!r}: a creditor may submit only with the debtor's EIP-712 signature",
                        field="signature",
                    )
                if domain is None:
                    raise ServiceUnavailable(
                        "signatures cannot be checked: no verifying contract configured (chain.verifying_contract or a deployment)",
                        field="signature",
                    )
                if not signed_by(domain, it.signature, id=it.id, debtor=debtor.address, creditor=creditor.address,
                                 amount=it.amount, reference=it.reference):
                    raise InvalidSignature(
                        f"obligation {it.id!r}: signature is not the debtor's ({debtor.address}) over this obligation",
                        field="signature",
                    )
            h = body_hash(it.id, debtor.address, creditor.address, it.amount, it.reference, it.on_behalf_of)
            seen = first_seen.get(it.id)
            if seen is not None:
                if seen[1] != h:
                    raise ObligationConflict(
                        f"obligation id {it.id!r} appears twice in the batch with different bodies", field="id", id=it.id
                    )
                duplicate_of[i] = seen[0]
            else:
                first_seen[it.id] = (i, h)
            resolved.append((debtor, creditor, h))
        except ClearingError as exc:
            problems.append((i, it.id, exc))
            resolved.append(None)

    # 3. Members of the items still in play, locked in id order (headroom is read-modify-write).
    if problems and not isolate and not check_existing:
        _raise_problems(problems, batch=batch)  # nothing read under the locks could add to them
    lock_ids = sorted({p.id for r in resolved if r is not None for p in r[:2]})
    members = [_LockedMember(*row) for row in conn.execute(_LOCK_MEMBERS, {"ids": lock_ids})] if lock_ids else []
    by_id = {m.id: m for m in members}
    if len(by_id) != len(lock_ids):  # members are never deleted
        raise RuntimeError(f"members {sorted(set(lock_ids) - set(by_id))} vanished while locked")

    # 4. Ids already stored: same body is a replay, another body a conflict. Read under the locks:
    #    a concurrent call for the same debtor has committed (its ids are seen here) or waits for
    #    this one, so a retry after a duplicate-id failure cannot collide with it again.
    existing: dict[str, str] = {}
    if check_existing:
        ids = list(first_seen)
        if ids:
            existing = dict(conn.execute(_EXISTING, {"ids": ids}).all())
        for oid, (i, h) in first_seen.items():
            if oid in existing and existing[oid] != h:
                problems.append((i, oid, ObligationConflict(
                    f"obligation id {oid!r} was already used with a different body", field="id", id=oid)))
    failed: dict[int, ClearingError] = {}
    if problems:
        if not isolate:
            _raise_problems(problems, batch=batch)
        failed = {i: e for i, _, e in problems}
        for i, first in list(duplicate_of.items()):
            if first in failed:  # same body as a failed request: same answer
                failed[i] = failed[first]
                del duplicate_of[i]
    new_items = [(i, it) for i, it in enumerate(items)
                 if i not in duplicate_of and i not in failed and it.id not in existing]
    pairs = {(resolved[i][0].id, resolved[i][1].id) for i, _ in new_items}  # type: ignore[index]
    debtor_ids = {d for d, _ in pairs}

    # 5. Risk rules and headroom, item by item in submission order.
    now_ts = _unix_seconds(now)
    histories = _histories(s, ctx, debtor_ids, by_id, now_ts, pairs) if new_items else {}
    seq: dict[int, int] = {m.id: m.obligation_seq for m in members}
    running_debit: dict[int, int] = {m.id: m.reserved_debit for m in members}
    running_credit: dict[int, int] = {m.id: m.reserved_credit for m in members}
    rows: list[_NewRow] = []
    hold_rows: list[tuple[str, Any]] = []
    new_pairs: set[tuple[int, int]] = set()
    rules = _evaluator(ctx, now_ts) if new_items else None
    risk_of: dict[int, Any] = {}
    room_base: dict[int, int] = {}
    with_history = ctx.settings.api.history_limit != 0
    copy = len(new_items) >= _COPY_THRESHOLD and conn.dialect.name == "postgresql"
    with _CopySink(conn, now) if copy else nullcontext() as sink:
        for i, it in new_items:
            debtor_ref, creditor_ref, h = resolved[i]  # type: ignore[misc]
            debtor, creditor = by_id[debtor_ref.id], by_id[creditor_ref.id]
            rec = histories[debtor.id]
            domain_ob = DomainObligation(it.id, debtor.name, creditor.name, it.amount)
            if rec.known_frozen is None:
                rec.known_frozen = frozenset(rec.known)
            debtor_risk = risk_of.get(debtor.id)
            if debtor_risk is None:
                debtor_risk = risk_of[debtor.id] = _member_risk(ctx, debtor)
            creditor_risk = risk_of.get(creditor.id)
            if creditor_risk is None:
                creditor_risk = risk_of[creditor.id] = _member_risk(ctx, creditor)
            # The window as a running aggregate: the ledger's rows plus this call's earlier items, O(1) per item.
            holds = rules(  # type: ignore[misc]
                domain_ob, debtor_risk, creditor_risk,
                ctx.risk.History(recent=(), known_counterparties=rec.known_frozen,
                                 window_count=rec.count, window_total=rec.total),
            )
            if with_history:  # held obligations count too: the next call reads them back from the ledger
                rec.count += 1
                rec.total += it.amount
                rec.added_count += 1
                rec.added_total += it.amount
            if not holds and (debtor.id, creditor.id) not in rec.known_ids:
                # A pair becomes known through an obligation that passed the rules, never a held one.
                rec.known.add(creditor.name)
                rec.known_frozen = None
                rec.known_ids.add((debtor.id, creditor.id))
                new_pairs.add((debtor.id, creditor.id))
            route = ctx.risk.settlement_route(debtor.tier)
            shortfall = None
            if holds:
                status = S.HELD
                hold_rows.extend((it.id, hd) for hd in holds)
            else:
                if route == "escrow":
                    # Tier C prepays each order from its own wallet into the order
                    # escrow: collateral headroom does not limit it.
                    status = S.ESCROW
                else:
                    base = room_base.get(debtor.id)
                    if base is None:
                        base = room_base[debtor.id] = _headroom_base(debtor)
                    room = base - max(0, running_debit[debtor.id] - running_credit[debtor.id])
                    if it.amount > room:
                        status = S.QUEUED_BEYOND_HEADROOM
                        shortfall = it.amount - max(0, room)
                    else:
                        status = S.ACCEPTED
                d, c = reservation_delta(None, status)
                running_debit[debtor.id] += d * it.amount
                running_credit[creditor.id] += c * it.amount
            seq[debtor.id] += 1
            rows.append(_NewRow(it, debtor, creditor, h, status, route, shortfall, seq[debtor.id],
                                submitters[i].member_id))  # type: ignore[arg-type]
            if sink is not None:
                sink.add(rows[-1])

    # 6. Write: obligations, holds, new counterparty pairs, reservation sums.
    if rows and not copy:
        dicts = [_row_dict(r, now) for r in rows]
        conn.execute(_INSERT_OBLIGATION, dicts[0] if len(dicts) == 1 else dicts)
    hold_objs: dict[str, list[Hold]] = defaultdict(list)
    if hold_rows:
        for oid, hd in hold_rows:
            obj = Hold(obligation_id=oid, rule=hd.rule, message=hd.message, values=_jsonable(dict(hd.values)),
                       release_after=_release_time(hd.release_after, now), status=HoldStatus.OPEN, created_at=now)
            s.add(obj)
            hold_objs[oid].append(obj)
        s.flush()
    if new_pairs:
        _insert_pairs(s, new_pairs, now)
    changed = [
        {"mid": m.id, "rd": running_debit[m.id], "rc": running_credit[m.id], "seq": seq[m.id]}
        for m in members
        if (running_debit[m.id], running_credit[m.id], seq[m.id]) != (m.reserved_debit, m.reserved_credit, m.obligation_seq)
    ]
    if changed:
        _write_reserved(s, changed)
    if after_commit is not None:
        for debtor_id, rec in histories.items():
            if rec.window is not None:
                after_commit.append(_cache_window(ctx, debtor_id, rec, seq[debtor_id], now_ts))

    # 7. Results in item order. Replays and holds are read now, in the transaction; the rest is
    #    built after the commit, once the member locks are released.
    stored = _load_views(s, list(existing)) if existing else {}
    hold_views = {oid: tuple(_hold_view(hd) for hd in objs) for oid, objs in hold_objs.items()}

    def results() -> list[SubmitResult | ClearingError]:
        views: dict[str, ObligationView] = dict(stored)
        for it, d, c, _, status, route, shortfall, _, _ in rows:
            views[it.id] = ObligationView(
                id=it.id, debtor=d.name, creditor=c.name, debtor_address=d.address, creditor_address=c.address,
                amount=it.amount, reference=it.reference, on_behalf_of=it.on_behalf_of, created_at=now,
                status=status, route=route, shortfall=shortfall, cycle_id=None, signed=it.signature is not None,
                holds=hold_views.get(it.id, ()),
            )
        return [
            failed[i] if i in failed else
            SubmitResult(index=i, replayed=i in duplicate_of or it.id in existing, obligation=views[it.id])
            for i, it in enumerate(items)
        ]

    return results


def _raise_problems(problems: list[tuple[int, str, ClearingError]], *, batch: bool) -> None:
    problems.sort(key=lambda p: p[0])
    if not batch:
        raise problems[0][2]
    items = [
        {"index": i, "id": oid, "code": e.code, "field": f"items[{i}].{e.field}" if e.field else f"items[{i}]",
         "detail": e.message}
        for i, oid, e in problems
    ]
    all_conflicts = all(isinstance(e, ObligationConflict) for _, _, e in problems)
    raise BatchRejected(
        f"{len(problems)} item(s) of the batch are invalid; nothing was recorded",
        items=items, all_conflicts=all_conflicts, field="items",
    )


#: Seconds of buckets kept before a window's start, so a call whose clock reads a little earlier than
#: the one that pruned (threads take ``now`` before they wait for the member lock) still finds its window.
_WINDOW_SLACK = 300
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)

# Each debtor's obligations per second, as (debtor_id, unix second, count, total); PostgreSQL sums
# NUMERIC exactly. SQLite stores amounts as decimal text, so there the rows come back and Python sums.
_WINDOW_SQL_PG = (
    "SELECT debtor_id, floor(extract(epoch FROM created_at))::bigint, count(*), sum(amount)::text FROM obligations "
    "WHERE debtor_id = ANY(%s) AND created_at >= %s GROUP BY 1, 2"
)
_WINDOW_DELTA_SQL_PG = (
    "SELECT o.debtor_id, floor(extract(epoch FROM o.created_at))::bigint, count(*), sum(o.amount)::text "
    "FROM unnest(%s::bigint[], %s::bigint[], %s::timestamptz[]) AS d(id, seq, since) "
    "JOIN obligations o ON o.debtor_id = d.id AND o.debtor_seq > d.seq AND o.created_at >= d.since GROUP BY 1, 2"
)
_WINDOW_SQL_SQLITE = (
    "SELECT CAST(strftime('%s', created_at) AS INTEGER), amount FROM obligations "
    "WHERE debtor_id = ? AND created_at >= ?"
)
_WINDOW_DELTA_SQL_SQLITE = (
    "SELECT CAST(strftime('%s', created_at) AS INTEGER), amount FROM obligations "
    "WHERE debtor_id = ? AND debtor_seq > ? AND created_at >= ?"
)


def _unix_seconds(t: datetime) -> int:
    """Whole seconds since the epoch, rounded down, in integer arithmetic (as the ledger's ``floor(epoch)``)."""
    return (t - _EPOCH) // _SECOND


@dataclass(frozen=True, slots=True)
class _Window:
    """A debtor's obligations per unix second as committed up to ``seq``.

    ``buckets`` are ``(second, count, total)`` in ascending seconds and hold EVERY obligation of
    the debtor with ``debtor_seq <= seq`` whose second is ``> floor``; ``count``/``total`` are their
    sums. Immutable once built: threads of a process share the cached ones.
    """

    seq: int
    floor: int
    buckets: tuple[tuple[int, int, int], ...]
    count: int
    total: int

    def since(self, start: int) -> tuple[int, int]:
        """(count, total) of the seconds ``> start`` (``start >= floor``)."""
        cut = bisect_right(self.buckets, start, key=_second)
        count, total = self.count, self.total
        for _, c, t in self.buckets[:cut]:
            count -= c
            total -= t
        return count, total

    def advanced(self, seq: int, floor: int, extra: list[tuple[int, int, int]]) -> _Window:
        """This window with ``extra`` buckets added (rows up to ``seq``), seconds ``<= floor`` dropped."""
        floor = max(floor, self.floor)
        cut = bisect_right(self.buckets, floor, key=_second)
        count, total = self.count, self.total
        for _, c, t in self.buckets[:cut]:
            count -= c
            total -= t
        kept = self.buckets[cut:]
        extra = sorted(b for b in extra if b[0] > floor)
        if not extra:
            return _Window(seq, floor, kept, count, total)
        if kept and extra[0][0] < kept[-1][0]:  # out of order (clock skew between writers): merge
            merged: dict[int, list[int]] = {}
            for ts, c, t in (*kept, *extra):
                slot = merged.setdefault(ts, [0, 0])
                slot[0] += c
                slot[1] += t
            buckets = tuple((ts, c, t) for ts, (c, t) in sorted(merged.items()))
            return _Window(seq, floor, buckets, sum(b[1] for b in buckets), sum(b[2] for b in buckets))
        grown = list(kept)
        for ts, c, t in extra:
            count += c
            total += t
            if grown and grown[-1][0] == ts:
                grown[-1] = (ts, grown[-1][1] + c, grown[-1][2] + t)
            else:
                grown.append((ts, c, t))
        return _Window(seq, floor, tuple(grown), count, total)


def _second(bucket: tuple[int, int, int]) -> int:
    return bucket[0]


@dataclass
class _DebtorHistory:
    """One debtor's state during a call: its velocity window at ``now`` and its known counterparties."""

    known: set[str]
    known_ids: set[tuple[int, int]]
    #: Obligations in the window at ``now``: the ledger's, then also this call's as they are added.
    count: int = 0
    total: int = 0
    #: This call's obligations (all at ``now``), for the process cache after commit.
    added_count: int = 0
    added_total: int = 0
    #: The ledger's window as read by this call (under the member lock); None: not tracked.
    window: _Window | None = None
    #: Seconds up to this one may leave the cached window (the window's start less the slack).
    keep: int = 0
    known_frozen: frozenset[str] | None = None


def _cache_window(ctx: ServiceContext, debtor_id: int, rec: _DebtorHistory, new_seq: int,
                  now_ts: int) -> Callable[[], None]:
    window = rec.window
    assert window is not None
    added = [(now_ts, rec.added_count, rec.added_total)] if rec.added_count else []

    def apply() -> None:
        current = ctx.history_cache.get(debtor_id)
        # Another thread of this process may have cached a later state meanwhile: keep it.
        if current is None or current.seq < new_seq:
            ctx.history_cache[debtor_id] = window.advanced(new_seq, rec.keep, added)

    return apply


def _histories(s: Session, ctx: ServiceContext, debtor_ids: set[int], by_id: dict[int, _LockedMember], now_ts: int,
               pairs: set[tuple[int, int]] | None = None) -> dict[int, _DebtorHistory]:
    """Each debtor's velocity window at ``now_ts`` (count and total, exact) and known counterparties.

    Per-process cache of each debtor's window by second, valid up to a debtor_seq. Obligations of
    a debtor are inserted only under its member row lock, which this call holds, with debtor_seq
    1, 2, 3, ...; so the rows a cached window lacks are exactly those with a larger debtor_seq,
    and the cache (filled only after commits) never holds a row the ledger does not. A debtor
    not cached (or cached past a clock jump) is read in full: its window, summed per second.
    """
    out = {d: _DebtorHistory(set(), set()) for d in debtor_ids}
    ids = sorted(debtor_ids)
    conn = s.connection()
    pg = conn.dialect.name == "postgresql"
    if ctx.settings.api.history_limit != 0:  # 0: diagnostic, the rules see no history
        start = now_ts - ctx.risk_config.velocity_window_seconds  # the window is the seconds > start
        keep = start - _WINDOW_SLACK
        cold: list[int] = []
        stale: dict[int, _Window] = {}
        windows: dict[int, _Window] = {}
        for d in ids:
            member_seq = by_id[d].obligation_seq
            cached = ctx.history_cache.get(d)
            if not isinstance(cached, _Window) or cached.seq > member_seq or cached.floor > start:
                cold.append(d)
            elif cached.seq < member_seq:
                stale[d] = cached
            else:
                windows[d] = cached
        extra: dict[int, list[tuple[int, int, int]]] = {d: [] for d in (*cold, *stale)}
        if pg:
            # One round trip for all debtors read in full, one for all read incrementally.
            if cold:
                for d, ts, c, t in conn.exec_driver_sql(_WINDOW_SQL_PG, (cold, _at(keep + 1))).fetchall():
                    extra[d].append((int(ts), int(c), int(t)))
            if stale:
                floors = [max(w.floor, keep) for w in stale.values()]
                args = (list(stale), [w.seq for w in stale.values()], [_at(f + 1) for f in floors])
                for d, ts, c, t in conn.exec_driver_sql(_WINDOW_DELTA_SQL_PG, args).fetchall():
                    extra[d].append((int(ts), int(c), int(t)))
        else:
            for d in (*cold, *stale):
                w = stale.get(d)
                since = _at(max(w.floor, keep) + 1 if w else keep + 1).replace(tzinfo=None).isoformat(" ")
                if w is None:
                    rows = conn.exec_driver_sql(_WINDOW_SQL_SQLITE, (d, since)).fetchall()
                else:
                    rows = conn.exec_driver_sql(_WINDOW_DELTA_SQL_SQLITE, (d, w.seq, since)).fetchall()
                extra[d] = _per_second(rows)
        empty = _Window(0, keep, (), 0, 0)
        for d in cold:
            windows[d] = empty.advanced(by_id[d].obligation_seq, keep, extra[d])
        for d, w in stale.items():
            windows[d] = w.advanced(by_id[d].obligation_seq, keep, extra[d])
        for d, w in windows.items():
            out[d].window, out[d].keep = w, keep
            out[d].count, out[d].total = w.since(start)
    # Known pairs never become unknown, so a per-process cache of pairs already read is exact for
    # the pairs it holds; the DB is asked only when some pair of this call is not cached yet. The
    # rules test only each obligation's own creditor, so the cached subset decides as the full set.
    cache = ctx.known_pairs
    if pairs is not None and all(c in cache.get(d, ()) for d, c in pairs):
        for d, c in pairs:
            out[d].known.add(by_id[c].name)
            out[d].known_ids.add((d, c))
        return out
    for debtor_id, creditor_id, name in conn.execute(_KNOWN_COUNTERPARTIES, {"ids": ids}):
        out[debtor_id].known.add(name)
        out[debtor_id].known_ids.add((debtor_id, creditor_id))
        cache.setdefault(debtor_id, set()).add(creditor_id)
    return out


def _at(unix_seconds: int) -> datetime:
    return _EPOCH + timedelta(seconds=unix_seconds)


def _per_second(rows: Sequence[Any]) -> list[tuple[int, int, int]]:
    """(second, amount) rows summed per second (amounts as Python ints: exact for any size)."""
    sums: dict[int, list[int]] = {}
    for ts, amount in rows:
        slot = sums.setdefault(int(ts), [0, 0])
        slot[0] += 1
        slot[1] += int(amount)
    return [(ts, c, t) for ts, (c, t) in sums.items()]


#: One statement text whatever the number of members: psycopg caches its parse (the VALUES list of
#: ``ledger._update_reserved`` grows with the members, and re-parsing 50 members' placeholders took
#: longer than running the UPDATE, all of it under the member locks).
_WRITE_RESERVED_PG = (
    "UPDATE members SET reserved_debit = v.rd, reserved_credit = v.rc, obligation_seq = v.seq "
    "FROM unnest(%s::bigint[], %s::text[]::numeric[], %s::text[]::numeric[], %s::bigint[]) AS v(mid, rd, rc, seq) "
    "WHERE members.id = v.mid"
)


def _write_reserved(s: Session, changed: list[dict[str, int]]) -> None:
    """New reserved sums and obligation_seq of the locked members this call changed."""
    conn = s.connection()
    if conn.dialect.name != "postgresql":
        from clearing.services.ledger import _update_reserved

        _update_reserved(s, changed)
        return
    conn.exec_driver_sql(_WRITE_RESERVED_PG, ([c["mid"] for c in changed], [str(c["rd"]) for c in changed],
                                              [str(c["rc"]) for c in changed], [c["seq"] for c in changed]))


def _evaluator(ctx: ServiceContext, now_ts: int) -> Callable[..., Any]:
    """The risk rules at ``now_ts`` with the configuration validated once (per item: the obligation's own checks)."""
    make = getattr(ctx.risk, "evaluator", None)
    if make is not None:
        return make(ctx.risk_config, now_ts)
    config = ctx.risk_config  # rules without an evaluator (a stand-in module): one evaluate per item
    return lambda ob, debtor, creditor, history: ctx.risk.evaluate(ob, debtor, creditor, history, config, now_ts)


def _headroom_base(member: _LockedMember) -> int:
    """The member's headroom with nothing reserved, by the ledger's own formula.

    Headroom is ``free collateral + unused credit − reserved net debit`` and only the last term
    moves while a call holds the member's lock, so the call computes this once per member and
    subtracts ``max(0, reserved_debit − reserved_credit)`` per item (tests pin it to
    :func:`~clearing.services.ledger.liquidity_of` on random members).
    """
    return liquidity_of(member, reserved_debit=0, reserved_credit=0).headroom


def _member_risk(ctx: ServiceContext, m: _LockedMember) -> Any:
    return ctx.risk.MemberRisk(member=m.name, tier=m.tier, suspended=m.status == MemberStatus.SUSPENDED)


def _release_time(release_after: Any, now: datetime) -> datetime | None:
    if release_after is None:
        return None
    if isinstance(release_after, datetime):
        return release_after
    from datetime import UTC

    return datetime.fromtimestamp(float(release_after), UTC)


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    """Hold values as JSON: ints as decimal strings (they may exceed 2^53)."""
    return {k: (str(v) if isinstance(v, int) and not isinstance(v, bool) else v) for k, v in values.items()}


def _insert_pairs(s: Session, pairs: set[tuple[int, int]], now: datetime) -> None:
    rows = [{"debtor_id": d, "creditor_id": c, "first_seen": now} for d, c in sorted(pairs)]
    if s.bind.dialect.name == "postgresql":  # type: ignore[union-attr]
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    s.connection().execute(dialect_insert(Counterparty.__table__).on_conflict_do_nothing(), rows)


def _hold_view(h: Hold) -> HoldView:
    return HoldView(id=h.id, rule=h.rule, message=h.message, values=dict(h.values or {}),
                    release_after=h.release_after, status=h.status)


def _load_views(s: Session, ids: Sequence[str]) -> dict[str, ObligationView]:
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
            id=o.id, debtor=d.name, creditor=c.name, debtor_address=d.address, creditor_address=c.address,
            amount=o.amount, reference=o.reference, on_behalf_of=o.on_behalf_of, created_at=o.created_at,
            status=o.status, route=o.route, shortfall=o.shortfall, cycle_id=o.cycle_id,
            signed=o.signature is not None, holds=tuple(_hold_view(h) for h in holds.get(o.id, ())),
        )
    return out


def get_for_member(ctx: ServiceContext, principal: Principal, obligation_id: str) -> ObligationView:
    """An obligation the member is debtor or creditor of; 404 otherwise (no existence leak)."""
    with ctx.uow(read_only=True) as uow:
        views = _load_views(uow.session, [obligation_id])
    view = views.get(obligation_id)
    if view is None or (principal.member_id is not None and principal.member_name not in (view.debtor, view.creditor)):
        raise NotFound(f"no obligation {obligation_id!r}", field="id", id=obligation_id)
    return view


def get_any(ctx: ServiceContext, obligation_id: str) -> ObligationView:
    """For operators and auditors."""
    with ctx.uow(read_only=True) as uow:
        views = _load_views(uow.session, [obligation_id])
    if obligation_id not in views:
        raise NotFound(f"no obligation {obligation_id!r}", field="id", id=obligation_id)
    return views[obligation_id]


__all__ = ["ObligationInput", "ObligationView", "HoldView", "SubmitResult", "submit", "get_for_member", "get_any",
           "body_hash", "replace"]
