"""Submitting obligations: validate → lock → decide → store, in ONE transaction per call.

One call handles one obligation or a batch of up to ``api.max_batch``. The policy:

* Anything wrong with the request itself (unknown member, submitter not a
  party, missing or bad debtor signature, same id reused with another body)
  rejects the whole batch and writes nothing: :class:`~clearing.errors.BatchRejected`
  lists every bad item (422; 409 when every problem is an id conflict).
* Business outcomes are per item: ``accepted``; ``held`` (with every hold's
  rule and numbers); ``escrow`` (tier C per-order route); and
  ``queued_beyond_headroom`` with the ``shortfall`` — accepted into the queue,
  never dropped.
* Retries are safe: the client's id is the key, scoped to the submitting
  member (Stripe's convention). Same member, id and body returns the stored
  obligation (``replayed``); another body is a conflict. Another member's
  obligation with the same id is another obligation: it is never seen here,
  so ids reveal nothing across members and cannot be taken from one.

Concurrency: member rows of every debtor and creditor of the obligations to
record are locked in id order before the rules and headroom run, so two
requests can never both spend the same headroom; an id the same member
inserted concurrently in another transaction makes the insert fail and the
call is retried once with the now-visible row. Request-level checks run
before the locks (:mod:`.validate`), and results are built after the
commit, so the locks cover only the rules, headroom and the writes.

Velocity: the rules get each debtor's obligations in the window as a count
and a total, exact, and a batch advances them item by item: O(1) per
obligation (:mod:`.history`). ``api.history_limit = 0`` switches the history
off (a diagnostic); other values no longer cap anything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import nullcontext
from datetime import datetime

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from clearing.adapters.db import merchant_store
from clearing.adapters.db import obligation_store as store
from clearing.adapters.db.obligation_store import CopySink, DriverIntegrityError, LockedMember
from clearing.adapters.db.reservations import write_reserved
from clearing.domain import risk
from clearing.domain.amounts import as_json_values
from clearing.domain.velocity import at, unix_seconds
from clearing.errors import ClearingError, NotAParty, ObligationConflict, ServiceUnavailable, ValidationError
from clearing.services.context import ServiceContext
from clearing.services.holds import HoldView, hold_view
from clearing.services.keys import Principal
from clearing.services.submission import merchant
from clearing.services.submission.decide import Decisions, Item, decide
from clearing.services.submission.history import cache_window, load_histories
from clearing.services.submission.queries import load_views
from clearing.services.submission.types import ObligationInput, ObligationView, SubmitResult
from clearing.services.submission.validate import ValidatedBatch, raise_problems, references, validate
from clearing.services.webhooks.events import obligation_data, submission_type
from clearing.services.webhooks.publish import Event, publish_many

#: Results of a call, built after its commit: a result per item, or the error it would raise alone.
Outcomes = list[SubmitResult | ClearingError]


def submit(
    ctx: ServiceContext, submitter: Principal, items: Sequence[ObligationInput], *, batch: bool
) -> list[SubmitResult]:
    """Record ``items`` for ``submitter`` (a member principal); see the module doc for the policy."""
    if submitter.member_id is None:
        raise NotAParty("only member keys submit obligations", field="authorization")
    if not items:
        raise ValidationError("a batch needs at least one obligation", field="items")
    results = _with_retries(ctx, [submitter] * len(items), items, batch=batch, isolate=False)
    return [r for r in results if isinstance(r, SubmitResult)]  # not isolated: any problem raised


def submit_group(ctx: ServiceContext, requests: Sequence[tuple[Principal, ObligationInput]]) -> Outcomes:
    """Group commit: independent single submissions, in order, in ONE transaction.

    Each entry's outcome is what submitting it alone, in this order, would give
    (its result, or the error it would raise); one durable commit covers them all.
    """
    for principal, _ in requests:
        if principal.member_id is None:
            raise NotAParty("only member keys submit obligations", field="authorization")
    return _with_retries(ctx, [p for p, _ in requests], [it for _, it in requests], batch=False, isolate=True)


def _with_retries(
    ctx: ServiceContext,
    submitters: Sequence[Principal],
    items: Sequence[ObligationInput],
    *,
    batch: bool,
    isolate: bool,
) -> Outcomes:
    attempts = 3
    for attempt in range(attempts):
        refusals: list[Event] = []
        try:
            after_commit: list[Callable[[], None]] = []
            with ctx.uow() as uow:  # SQLite takes the write lock here (BEGIN IMMEDIATE)
                results = _submit_once(
                    ctx,
                    uow.session,
                    submitters,
                    items,
                    batch=batch,
                    check_existing=attempt > 0,
                    isolate=isolate,
                    after_commit=after_commit,
                    refusals=refusals,
                )
                uow.commit()
            for hook in after_commit:  # only what is durable may reach the process caches
                hook()
            _report(ctx, refusals)
            return results()
        except ClearingError:
            _report(ctx, refusals)  # the refusal rolled the call back; its report stands alone
            raise
        except (IntegrityError, DriverIntegrityError):
            # Another transaction inserted one of these ids first: redo, seeing it.
            if attempt == attempts - 1:
                raise
        except OperationalError as exc:
            # SQLite: another writer held the lock past busy_timeout. Nothing was written.
            if "locked" in str(exc.orig).lower() or "busy" in str(exc.orig).lower():
                raise ServiceUnavailable(
                    "the ledger is busy with another write; retry shortly", field=None, retry_after=1
                ) from None
            raise
    raise AssertionError("unreachable")


def _report(ctx: ServiceContext, refusals: list[Event]) -> None:
    """Publish what the call refused that its platform hears of (``merchant.line_exhausted``), in a
    transaction of its own: the refusal wrote nothing to ride along with."""
    if refusals:
        with ctx.uow() as uow:
            publish_many(uow.session, refusals, now=ctx.clock())
            uow.commit()


def _submit_once(
    ctx: ServiceContext,
    s: Session,
    submitters: Sequence[Principal],
    items: Sequence[ObligationInput],
    *,
    batch: bool,
    check_existing: bool,
    isolate: bool,
    after_commit: list[Callable[[], None]],
    refusals: list[Event],
) -> Callable[[], Outcomes]:
    """One attempt in the caller's transaction. ``submitters[i]`` submitted ``items[i]``.

    Returns what builds the results: call it after the commit.

    ``isolate``: items are independent requests (group commit of single submissions): a
    problem with one is returned in its place and the others proceed, exactly as if each had
    been submitted alone in this order. Otherwise any problem raises for the whole call.
    """
    now = ctx.clock()
    conn = s.connection()
    # 1. Request-level validation of every item (no lock held); collect every problem.
    names, addresses = references(items)
    checked = validate(items, submitters, store.find_parties(conn, names, addresses), ctx.signing_domain)
    if checked.problems and not isolate and not check_existing:
        raise_problems(checked.problems, batch=batch)  # nothing read under the locks could add to them

    # 2. Members of the items still in play, locked in id order (headroom is read-modify-write).
    lock_ids = sorted({p.id for r in checked.resolved if r is not None for p in r[:2]})
    members = store.lock_members(conn, lock_ids)
    by_id = {m.id: m for m in members}
    if len(by_id) != len(lock_ids):  # members are never deleted
        raise RuntimeError(f"members {sorted(set(lock_ids) - set(by_id))} vanished while locked")

    # 3. The submitters' ids already stored: same body is a replay, another body a conflict. Read under the locks:
    #    a concurrent call for the same debtor has committed (its ids are seen here) or waits for
    #    this one, so a retry after a duplicate-id failure cannot collide with it again.
    #    Purchases on a merchant line are read now too (a first attempt charges no replay to the line).
    names_merchant = any(it.on_behalf_of is not None for it in items)
    existing = _existing(conn, checked) if check_existing or names_merchant else {}
    charges = merchant.Charges()
    if names_merchant:
        charges = _charge_merchant_lines(ctx, conn, items, submitters, checked, existing)
        refusals.extend(charges.exhausted)
    failed: dict[int, ClearingError] = {}
    if checked.problems:
        if not isolate:
            raise_problems(checked.problems, batch=batch)
        failed = _failures(checked)

    # 4. Risk rules and headroom, item by item in submission order; rows stream to COPY meanwhile.
    todo: list[Item] = []
    for i, it in enumerate(items):
        resolved, submitter = checked.resolved[i], submitters[i].member_id
        if resolved is None or submitter is None or i in checked.duplicate_of or i in failed:
            continue  # resolved is None exactly for items with a problem; submitters are checked members
        if (submitter, it.id) in existing:
            continue
        debtor, creditor, h = resolved
        todo.append((it, by_id[debtor.id], by_id[creditor.id], h, submitter))
    now_ts = unix_seconds(now)
    decided = Decisions.start(members)
    if todo:
        window = None if ctx.settings.api.history_limit == 0 else ctx.risk_config.velocity_window_seconds
        histories = load_histories(
            conn, ctx.caches, by_id, {t[1].id for t in todo}, {(t[1].id, t[2].id) for t in todo}, now_ts, window
        )
        rules = risk.evaluator(ctx.risk_config, now_ts)
        copy = store.uses_copy(conn, len(todo))
        with CopySink(conn, now) if copy else nullcontext() as sink:
            decided = decide(
                todo,
                members,
                histories,
                rules,
                count_history=window is not None,
                emit=sink.add if sink is not None else None,
            )
        if not copy:
            store.insert_obligations(conn, decided.rows, now)
        after_commit.extend(
            cache_window(ctx.caches, d, rec, decided.seq[d], now_ts)
            for d, rec in histories.items()
            if rec.window is not None
        )

    # 5. Holds, first-time pairs, reservation sums.
    holds = store.insert_holds(
        s, [(oid, hd.rule, hd.message, as_json_values(hd.values), _release_time(hd)) for oid, hd in decided.holds], now
    )
    store.insert_counterparties(s, decided.new_pairs, now)
    if charges.lines:
        merchant_rows = [(t[4], t[0], row.obligation_key) for t, row in zip(todo, decided.rows, strict=True)]
        merchant_store.insert_purchases(conn, charges.purchase_rows(merchant_rows))
    changed = decided.changed_members(members)
    if changed:
        write_reserved(s, changed)
    # Webhook events, in this transaction and in bulk (the generator never runs when nobody subscribes).
    publish_many(s, _events(todo, decided, by_id), now=now)

    # 6. Results in item order. Replays and holds are read now, in the transaction; the rest is
    #    built after the commit, once the member locks are released.
    stored = load_views(s, [key for key, _ in existing.values()]) if existing else {}
    parties = {
        row.obligation_key: (it.id, by_id[row.submitted_by].name, it.amount, d.name, c.name)
        for (it, d, c, _, _), row in zip(todo, decided.rows, strict=True)
    }
    hold_views: dict[str, list[HoldView]] = {}
    for row in holds:
        hold_views.setdefault(row.obligation_key, []).append(hold_view(row, *parties[row.obligation_key]))
    return lambda: _results(items, submitters, checked, failed, existing, stored, todo, decided, hold_views, now)


def _events(todo: list[Item], decided: Decisions, by_id: dict[int, LockedMember]) -> Iterator[Event]:
    """``obligation.accepted`` / ``obligation.held`` of each new obligation, to both parties."""
    held_by: dict[str, list[str]] = {}
    for key, hd in decided.holds:
        held_by.setdefault(key, []).append(hd.rule)
    for (it, d, c, _, _), row in zip(todo, decided.rows, strict=True):
        data = obligation_data(
            id=it.id,
            obligation_key=row.obligation_key,
            submitter=by_id[row.submitted_by].name,
            debtor=d.name,
            creditor=c.name,
            amount=it.amount,
            reference=it.reference,
            status=row.status,
            route=row.route,
            shortfall=row.shortfall,
            holds=held_by.get(row.obligation_key, ()),
        )
        yield submission_type(row.status), data, (d.name, c.name)


def _charge_merchant_lines(
    ctx: ServiceContext,
    conn: Connection,
    items: Sequence[ObligationInput],
    submitters: Sequence[Principal],
    checked: ValidatedBatch,
    existing: dict[tuple[int, str], tuple[str, str]],
) -> merchant.Charges:
    """Charge purchases to their merchant lines (:mod:`.merchant`), skipping items not to be recorded now."""
    by = [p.member_id or 0 for p in submitters]
    skip = {i for i, _, _ in checked.problems} | set(checked.duplicate_of)
    skip |= {i for i, it in enumerate(items) if (by[i], it.id) in existing}
    return merchant.check(conn, items, by, checked, skip, ctx.signing_domain)


def _existing(conn: Connection, checked: ValidatedBatch) -> dict[tuple[int, str], tuple[str, str]]:
    """``(key, body hash)`` of the submitters' ids already stored; one stored with another body becomes a problem."""
    existing = store.stored_obligations(conn, checked.first_seen)
    for scope, (i, h) in checked.first_seen.items():
        oid = scope[1]
        if scope in existing and existing[scope][1] != h:
            checked.problems.append(
                (
                    i,
                    oid,
                    ObligationConflict(
                        f"you already used obligation id {oid!r} with a different body", field="id", id=oid
                    ),
                )
            )
    return existing


def _failures(checked: ValidatedBatch) -> dict[int, ClearingError]:
    failed: dict[int, ClearingError] = {i: e for i, _, e in checked.problems}
    for i, first in list(checked.duplicate_of.items()):
        if first in failed:  # same body as a failed request: same answer
            failed[i] = failed[first]
            del checked.duplicate_of[i]
    return failed


def _release_time(hold: risk.Hold) -> datetime | None:
    return None if hold.release_after is None else at(hold.release_after)


def _results(
    items: Sequence[ObligationInput],
    submitters: Sequence[Principal],
    checked: ValidatedBatch,
    failed: dict[int, ClearingError],
    existing: dict[tuple[int, str], tuple[str, str]],
    stored: dict[str, ObligationView],
    todo: list[Item],
    decided: Decisions,
    hold_views: dict[str, list[HoldView]],
    now: datetime,
) -> Outcomes:
    """Each item's outcome; ``views`` are keyed by (submitting member id, obligation id), as ids are scoped."""
    views = {scope: stored[key] for scope, (key, _) in existing.items()}
    for (it, d, c, _, by), row in zip(todo, decided.rows, strict=True):
        views[by, it.id] = ObligationView(
            id=it.id,
            obligation_key=row.obligation_key,
            submitter=d.name if by == d.id else c.name,
            debtor=d.name,
            creditor=c.name,
            debtor_address=d.address,
            creditor_address=c.address,
            amount=it.amount,
            reference=it.reference,
            on_behalf_of=it.on_behalf_of,
            created_at=now,
            status=row.status,
            route=row.route,
            shortfall=row.shortfall,
            cycle_id=None,
            signed=it.signature is not None,
            holds=tuple(hold_views.get(row.obligation_key, ())),
        )
    out: Outcomes = []
    for i, it in enumerate(items):
        if i in failed:
            out.append(failed[i])
            continue
        scope = (submitters[i].member_id or 0, it.id)
        replayed = i in checked.duplicate_of or scope in existing
        out.append(SubmitResult(index=i, replayed=replayed, obligation=views[scope]))
    return out
