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

Concurrency: member rows of every debtor and creditor in the call are locked
in id order before headroom is computed, so two requests can never both spend
the same headroom; an id inserted concurrently by another transaction makes
the insert fail and the call is retried once with the now-visible row.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from eth_utils import is_hex_address, to_checksum_address
from sqlalchemy import bindparam, insert, or_, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from clearing.adapters.db.models import Counterparty, Hold, HoldStatus, Member, MemberStatus, Obligation
from clearing.adapters.db.models import ObligationStatus as S
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
_LOCK_MEMBERS = (
    select(*_MEMBER_COLUMNS)
    .where(or_(Member.name.in_(bindparam("names", expanding=True)),
               Member.address.in_(bindparam("addresses", expanding=True))))
    .order_by(Member.id)
    .with_for_update()
)
_EXISTING = select(Obligation.id, Obligation.body_hash).where(Obligation.id.in_(bindparam("ids", expanding=True)))
_INSERT_OBLIGATION = insert(Obligation.__table__)
#: From this many rows a PostgreSQL batch is written with COPY (one stream, no per-row statement).
_COPY_THRESHOLD = 64
_COPY_COLUMNS = ("id", "debtor_id", "creditor_id", "amount", "reference", "on_behalf_of", "created_at", "submitted_by",
                 "body_hash", "signature", "status", "route", "shortfall", "cycle_id", "leaf", "updated_at", "debtor_seq")

try:  # COPY bypasses SQLAlchemy, so a duplicate id surfaces as the driver's error
    from psycopg.errors import IntegrityError as _DriverIntegrityError
except ImportError:  # pragma: no cover - psycopg is a dependency
    class _DriverIntegrityError(Exception):  # type: ignore[no-redef]
        pass


def _copy_obligations(conn: Any, rows: list[dict[str, Any]]) -> None:
    raw = conn.connection.dbapi_connection
    with raw.cursor() as cur:
        with cur.copy(f"COPY obligations ({', '.join(_COPY_COLUMNS)}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row(tuple(r[c] for c in _COPY_COLUMNS))
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
            return results
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


def _resolve_ref(ref: str, by_name: dict[str, _LockedMember], by_address: dict[str, _LockedMember]) -> _LockedMember | None:
    if ref.startswith(("0x", "0X")):
        return by_address.get(ref.lower())
    return by_name.get(ref)


def _submit_once(
    ctx: ServiceContext, s: Session, submitters: Sequence[Principal], items: Sequence[ObligationInput], *, batch: bool,
    check_existing: bool, isolate: bool = False, after_commit: list[Callable[[], None]] | None = None,
) -> list[SubmitResult | ClearingError]:
    """One attempt in the caller's transaction. ``submitters[i]`` submitted ``items[i]``.

    ``isolate``: items are independent requests (group commit of single submissions): a
    problem with one is returned in its place and the others proceed, exactly as if each had
    been submitted alone in this order. Otherwise any problem raises for the whole call.
    """
    now = ctx.clock()
    # 1. Members named by the items, locked in id order (headroom is read-modify-write).
    names = {r for it in items for r in (it.debtor, it.creditor) if not r.startswith(("0x", "0X"))}
    addresses = set()
    for it in items:
        for r in (it.debtor, it.creditor):
            if r.startswith(("0x", "0X")) and is_hex_address(r):
                addresses.add(to_checksum_address(r))
    conn = s.connection()
    members = [
        _LockedMember(*row)
        for row in conn.execute(_LOCK_MEMBERS, {"names": list(names), "addresses": list(addresses)})
    ]
    by_name = {m.name: m for m in members}
    by_address = {m.address.lower(): m for m in members}
    by_id = {m.id: m for m in members}

    # 2. Request-level validation of every item; collect every problem.
    problems: list[tuple[int, str, ClearingError]] = []
    resolved: list[tuple[_LockedMember, _LockedMember, str] | None] = []
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

    # 3. Ids already stored: same body is a replay, another body a conflict.
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

    # 4. Risk rules and headroom, item by item in submission order.
    new_items = [(i, it) for i, it in enumerate(items)
                 if i not in duplicate_of and i not in failed and it.id not in existing]
    debtor_ids = {resolved[i][0].id for i, _ in new_items}  # type: ignore[index]
    pairs = {(resolved[i][0].id, resolved[i][1].id) for i, _ in new_items}  # type: ignore[index]
    histories = _histories(s, ctx, debtor_ids, by_id, now, pairs) if new_items else {}
    seq: dict[int, int] = {m.id: m.obligation_seq for m in members}
    running_debit: dict[int, int] = {m.id: m.reserved_debit for m in members}
    running_credit: dict[int, int] = {m.id: m.reserved_credit for m in members}
    rows: list[dict[str, Any]] = []
    hold_rows: list[tuple[str, Any]] = []
    new_pairs: set[tuple[int, int]] = set()
    config = ctx.risk_config
    for i, it in new_items:
        debtor, creditor, h = resolved[i]  # type: ignore[misc]
        rec = histories[debtor.id]
        domain_ob = DomainObligation(it.id, debtor.name, creditor.name, it.amount)
        holds = ctx.risk.evaluate(
            domain_ob,
            _member_risk(ctx, debtor),
            _member_risk(ctx, creditor),
            ctx.risk.History(recent=tuple(rec.recent), known_counterparties=frozenset(rec.known)),
            _config_for(config, debtor),
            int(now.timestamp()),
        )
        rec.recent.append((int(now.timestamp()), it.amount))
        keep = _history_limit(ctx, debtor.tier)
        if len(rec.recent) > 2 * keep:
            del rec.recent[: len(rec.recent) - keep]
        if not holds and (debtor.id, creditor.id) not in rec.known_ids:
            # A pair becomes known through an obligation that passed the rules, never a held one.
            rec.known.add(creditor.name)
            rec.known_ids.add((debtor.id, creditor.id))
            new_pairs.add((debtor.id, creditor.id))
        route = ctx.risk.settlement_route(debtor.tier)
        shortfall = None
        if holds:
            status = S.HELD
            hold_rows.extend((it.id, hd) for hd in holds)
        else:
            liq = liquidity_of(debtor, reserved_debit=running_debit[debtor.id], reserved_credit=running_credit[debtor.id])
            room = liq.headroom
            if it.amount > room:
                status = S.QUEUED_BEYOND_HEADROOM
                shortfall = it.amount - max(0, room)
            else:
                status = S.ESCROW if route == "escrow" else S.ACCEPTED
            d, c = reservation_delta(None, status)
            running_debit[debtor.id] += d * it.amount
            running_credit[creditor.id] += c * it.amount
        rows.append({
            "id": it.id, "debtor_id": debtor.id, "creditor_id": creditor.id, "amount": it.amount,
            "reference": it.reference, "on_behalf_of": it.on_behalf_of, "created_at": now,
            "submitted_by": submitters[i].member_id, "body_hash": h, "signature": it.signature, "status": status,
            "route": route, "shortfall": shortfall, "cycle_id": None, "leaf": None, "updated_at": now,
            "debtor_seq": seq[debtor.id] + 1,
        })
        seq[debtor.id] += 1

    # 5. Write: obligations, holds, new counterparty pairs, reservation sums.
    if rows:
        if len(rows) >= _COPY_THRESHOLD and conn.dialect.name == "postgresql":
            _copy_obligations(conn, rows)
        else:
            conn.execute(_INSERT_OBLIGATION, rows[0] if len(rows) == 1 else rows)
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
        from clearing.services.ledger import _update_reserved

        _update_reserved(s, changed)
    if after_commit is not None:
        for debtor_id, rec in histories.items():
            if seq[debtor_id] != by_id[debtor_id].obligation_seq:
                after_commit.append(_cache_history(ctx, debtor_id, rec.read_seq, seq[debtor_id], list(rec.recent)))

    # 6. Results in item order (replays read back the stored row).
    stored = _load_views(s, list(existing)) if existing else {}
    views: dict[str, ObligationView] = dict(stored)
    for row in rows:
        d, c = by_id[row["debtor_id"]], by_id[row["creditor_id"]]
        views[row["id"]] = ObligationView(
            id=row["id"], debtor=d.name, creditor=c.name, debtor_address=d.address, creditor_address=c.address,
            amount=row["amount"], reference=row["reference"], on_behalf_of=row["on_behalf_of"], created_at=now,
            status=row["status"], route=row["route"], shortfall=row["shortfall"], cycle_id=None,
            signed=row["signature"] is not None,
            holds=tuple(_hold_view(hd) for hd in hold_objs.get(row["id"], ())),
        )
    return [
        failed[i] if i in failed else
        SubmitResult(index=i, replayed=i in duplicate_of or it.id in existing, obligation=views[it.id])
        for i, it in enumerate(items)
    ]


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
        items=items, status=409 if all_conflicts else 422, field="items",
    )


_HISTORY_SQL_PG = (
    "SELECT floor(extract(epoch FROM created_at))::bigint, amount::text FROM obligations "
    "WHERE debtor_id = %s AND created_at >= %s ORDER BY created_at DESC LIMIT %s"
)
_HISTORY_SQL_PG_MANY = (
    "SELECT d.id, h.ts, h.amount FROM unnest(%s::bigint[], %s::int[]) AS d(id, lim) CROSS JOIN LATERAL ("
    " SELECT floor(extract(epoch FROM o.created_at))::bigint AS ts, o.amount::text AS amount FROM obligations o"
    " WHERE o.debtor_id = d.id AND o.created_at >= %s ORDER BY o.created_at DESC LIMIT d.lim) h"
)
_HISTORY_DELTA_SQL_PG = (
    "SELECT floor(extract(epoch FROM created_at))::bigint, amount::text FROM obligations "
    "WHERE debtor_id = %s AND debtor_seq > %s ORDER BY debtor_seq"
)
_HISTORY_DELTA_SQL_SQLITE = (
    "SELECT CAST(strftime('%s', created_at) AS INTEGER), amount FROM obligations "
    "WHERE debtor_id = ? AND debtor_seq > ? ORDER BY debtor_seq"
)
_HISTORY_SQL_SQLITE = (
    "SELECT CAST(strftime('%s', created_at) AS INTEGER), amount FROM obligations "
    "WHERE debtor_id = ? AND created_at >= ? ORDER BY created_at DESC LIMIT ?"
)


@dataclass
class _DebtorHistory:
    recent: list[tuple[int, int]]
    known: set[str]
    known_ids: set[tuple[int, int]]
    read_seq: int = 0


def _cache_history(ctx: ServiceContext, debtor_id: int, read_seq: int, new_seq: int,
                   entries: list[tuple[int, int]]) -> Callable[[], None]:
    def apply() -> None:
        current = ctx.history_cache.get(debtor_id)
        # Someone (another thread of this process) may have cached a later state meanwhile: keep it.
        if current is None or current[0] <= read_seq:
            ctx.history_cache[debtor_id] = (new_seq, entries)

    return apply


def _histories(s: Session, ctx: ServiceContext, debtor_ids: set[int], by_id: dict[int, _LockedMember], now: datetime,
               pairs: set[tuple[int, int]] | None = None) -> dict[int, _DebtorHistory]:
    """Each debtor's recent obligations (newest ``api.history_limit`` in the rules' window) and known counterparties."""
    window = _history_window(ctx.risk_config)
    since = now - timedelta(seconds=window)
    out = {d: _DebtorHistory([], set(), set()) for d in debtor_ids}
    ids = sorted(debtor_ids)
    conn = s.connection()
    pg = conn.dialect.name == "postgresql"
    # Per-process cache of each debtor's window, valid up to a debtor_seq. Obligations of a debtor
    # are inserted only under its member row lock, which this call holds, with debtor_seq 1, 2, 3,
    # ...; so the rows a cached window lacks are exactly those with a larger debtor_seq, and the
    # cache (filled only after commits) never holds a row the ledger does not.
    since_ts = int(since.timestamp())
    full: list[int] = []
    for d in ids:
        member_seq = by_id[d].obligation_seq
        out[d].read_seq = member_seq
        cached = ctx.history_cache.get(d)
        if cached is None or cached[0] > member_seq:
            full.append(d)
            continue
        entries = [e for e in cached[1] if e[0] > since_ts]
        if cached[0] < member_seq:
            for ts, amount in conn.exec_driver_sql(
                _HISTORY_DELTA_SQL_PG if pg else _HISTORY_DELTA_SQL_SQLITE, (d, cached[0])
            ).fetchall():
                if int(ts) > since_ts:
                    entries.append((int(ts), int(amount)))
        limit = _history_limit(ctx, by_id[d].tier)
        out[d].recent = entries[-limit:] if limit else []
    # Raw driver SQL: up to velocity_max_count rows per debtor, so skip per-row type processing.
    sql = _HISTORY_SQL_PG if pg else _HISTORY_SQL_SQLITE
    if pg and len(full) > 1:
        # One round trip for every debtor of the call (a group commit has many).
        limits = [_history_limit(ctx, by_id[d].tier) for d in full]
        for debtor_id, ts, amount in conn.exec_driver_sql(_HISTORY_SQL_PG_MANY, (full, limits, since)).fetchall():
            out[debtor_id].recent.append((int(ts), int(amount)))
        for d in full:
            out[d].recent.reverse()
    else:
        for debtor_id in full:
            limit = _history_limit(ctx, by_id[debtor_id].tier)
            cutoff = since if pg else since.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
            rows = conn.exec_driver_sql(sql, (debtor_id, cutoff, limit)).fetchall()
            out[debtor_id].recent.extend((int(ts), int(amount)) for ts, amount in reversed(rows))
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


def _history_limit(ctx: ServiceContext, tier: str) -> int:
    """How many newest entries the rules need to decide exactly as with the full window.

    The velocity-count rule fires once the window holds ``velocity_max_count``
    entries, so more never changes whether an obligation is held; the amount
    rule can only be under-reported when the count rule holds it anyway.
    """
    table = getattr(ctx.risk_config, "velocity_max_count", None)
    if isinstance(table, dict) or hasattr(table, "get"):
        value = table.get(tier)
        if isinstance(value, int):
            return min(value, ctx.settings.api.history_limit)
    return ctx.settings.api.history_limit


def _history_window(config: Any) -> int:
    """Seconds of history the velocity rule looks at (the config's window; an hour if it names none)."""
    for attr in ("velocity_window_s", "velocity_window_seconds", "velocity_window", "window_s"):
        value = getattr(config, attr, None)
        if isinstance(value, (int, float)) and value > 0:
            return int(value)
    return 3600


def _config_for(config: Any, member: _LockedMember) -> Any:
    return config


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
