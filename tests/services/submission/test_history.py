"""The velocity window the ledger gives the risk rules is exact, whatever path it took.

Each process keeps every debtor's window summed per second, valid up to a
per-debtor sequence number, and tops it up from the ledger; a batch advances
the window item by item. These tests recompute every decision from the
stored rows alone (the oracle knows nothing of caches) while two service
contexts (two worker processes) submit for the same debtors, the clock
moves forwards past the window, stalls, and steps back (clock skew between
workers and a jump past the cache's slack), and reviewers in either process
release or reject held obligations (held and rejected ones are not counted;
released ones count at their creation second). The per-second window itself
(:class:`clearing.domain.velocity.VelocityWindow`) is tested against a naive
sum in tests/domain/test_velocity.py.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from clearing.adapters.db.models import Hold, Obligation
from clearing.domain.risk import RiskConfig
from clearing.services import holds as holds_svc
from clearing.services import submission as osvc
from clearing.services.context import ServiceContext
from clearing.services.keys import Principal
from tests.conftest import admit_member, ledger_house

OP = Principal(role="operator", key_id=None)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
WINDOW = 60
CONFIG = RiskConfig(
    velocity_window_seconds=WINDOW,
    velocity_max_count={"A": 6, "B": 6, "C": 6},
    velocity_max_amount={"A": 400, "B": 400, "C": 400},
)


def _ctx(database, clock, config: RiskConfig = CONFIG) -> ServiceContext:
    return ledger_house(database, risk_config=config, clock=clock)


def _member(ctx: ServiceContext, name: str) -> Principal:
    return admit_member(ctx, name, collateral=10**12).principal


def _ob(id: str, debtor: str, creditor: str, amount: int) -> osvc.ObligationInput:
    return osvc.ObligationInput(id=id, debtor=debtor, creditor=creditor, amount=amount)


def _second(t: datetime) -> int:
    return (t - EPOCH) // timedelta(seconds=1)


def _velocity_holds_match_the_rows(ctx: ServiceContext, events: list[tuple[str, str]] | None = None) -> int:
    """Recompute each obligation's window from the stored rows; compare with the holds raised. Returns rows checked.

    ``events``: ``("submit" | "release", obligation id)`` in the order they happened (default: every row
    submitted in ``debtor_seq`` order, none released). The window counts obligations submitted
    earlier without a hold, and held ones released earlier, each at its creation second; held and
    rejected ones never count (issue 8, item 8).
    """
    with ctx.uow(read_only=True) as uow:
        s = uow.session
        rows = s.execute(
            select(Obligation.id, Obligation.debtor_id, Obligation.created_at, Obligation.amount).order_by(
                Obligation.debtor_id, Obligation.debtor_seq
            )
        ).all()
        holds: dict[str, dict[str, dict]] = {}
        for oid, h in s.execute(
            select(Obligation.id, Hold).join(Hold, Hold.obligation_key == Obligation.obligation_key)
        ):
            holds.setdefault(oid, {})[h.rule] = h.values
    by_id = {r[0]: r for r in rows}
    counted: dict[int, list[tuple[int, int]]] = {}
    for kind, oid in events if events is not None else [("submit", r[0]) for r in rows]:
        _, debtor_id, created_at, amount = by_id[oid]
        now = _second(created_at)
        if kind == "release":
            counted.setdefault(debtor_id, []).append((now, amount))
            continue
        inside = [a for ts, a in counted.get(debtor_id, []) if ts > now - WINDOW]
        count, total = len(inside) + 1, sum(inside) + amount
        got = holds.get(oid, {})
        if count > 6:
            assert got.get("velocity-count", {}).get("count") == str(count), (oid, count, got)
        else:
            assert "velocity-count" not in got, (oid, count, got)
        if total > 400:
            assert got.get("velocity-amount", {}).get("total") == str(total), (oid, total, got)
        else:
            assert "velocity-amount" not in got, (oid, total, got)
        if not got:
            counted.setdefault(debtor_id, []).append((now, amount))
    return len(rows)


def _review_one(ctx: ServiceContext, rng: random.Random, events: list[tuple[str, str]]) -> None:
    """Release or reject every open hold of one held obligation, as a reviewer would."""
    open_holds = holds_svc.list_holds(ctx)
    if not open_holds:
        return
    oid = rng.choice(sorted({h.obligation_id for h in open_holds}))
    mine = [h for h in open_holds if h.obligation_id == oid]
    if rng.random() < 0.3:
        holds_svc.review(ctx, OP, mine[0].id, decision="reject", reason="test")  # rejects its other holds too
        return
    for h in mine:
        done = holds_svc.review(ctx, OP, h.id, decision="release", reason="test")
    if done.obligation_status not in ("held", "rejected"):
        events.append(("release", oid))


@pytest.mark.parametrize("seed", range(3))
def test_window_matches_the_rows_across_processes_and_clock_moves(db, seed):
    rng = random.Random(seed)
    t = [datetime(2026, 1, 1, tzinfo=UTC)]
    clock = lambda: t[0]  # noqa: E731 - both contexts read one clock
    one, two = _ctx(db, clock), _ctx(db, clock)
    debtors = {n: _member(one, n) for n in ("a", "b")}
    for n in ("c", "d"):
        _member(one, n)
    n_ob = 0
    events: list[tuple[str, str]] = []
    for step in range(45):
        move = rng.choice([0, 0, 0, 1, 1, 2, 7, 29, WINDOW - 1, WINDOW, WINDOW + 1, -1, -2])
        if step == 30:
            move = -400  # further back than the cached windows keep: they must be read again
        t[0] += timedelta(seconds=move, microseconds=rng.randrange(1_000_000))
        ctx = rng.choice([one, two])
        kind = rng.choice(["batch", "single", "group", "review"])
        if kind == "review":  # a reviewer in either process releases (or rejects) a held obligation
            _review_one(ctx, rng, events)
        elif kind == "group":
            requests = []
            for _ in range(rng.randint(1, 6)):
                n_ob += 1
                d = rng.choice(list(debtors))
                requests.append((debtors[d], _ob(f"o{n_ob}", d, rng.choice("cd"), rng.randint(1, 120))))
                events.append(("submit", f"o{n_ob}"))
            assert not [r for r in osvc.submit_group(ctx, requests) if isinstance(r, Exception)]
        else:
            d = rng.choice(list(debtors))
            size = rng.randint(1, 9) if kind == "batch" else 1
            batch = []
            for _ in range(size):
                n_ob += 1
                batch.append(_ob(f"o{n_ob}", d, rng.choice("cd"), rng.randint(1, 120)))
                events.append(("submit", f"o{n_ob}"))
            osvc.submit(ctx, debtors[d], batch, batch=kind == "batch")
    assert _velocity_holds_match_the_rows(one, events) == n_ob
    assert any(kind == "release" for kind, _ in events)


@pytest.mark.postgres
def test_batches_past_the_copy_threshold_advance_the_window_item_by_item(pg_db):
    t = [datetime(2026, 1, 1, tzinfo=UTC)]
    one = _ctx(pg_db, lambda: t[0])
    a = _member(one, "a")
    _member(one, "c")
    out = osvc.submit(one, a, [_ob(f"big-{k}", "a", "c", 1) for k in range(100)], batch=True)
    counts = [r.obligation.holds[0].values["count"] if r.obligation.holds else None for r in out]
    # Held items stay out of the window (issue 8, item 8): each later one sees the 6 accepted, plus itself.
    assert counts[:6] == [None] * 6 and counts[6:] == ["7"] * 94
    assert _velocity_holds_match_the_rows(one) == 100


def test_window_length_comes_from_the_risk_config(db):
    t = [datetime(2026, 1, 1, tzinfo=UTC)]
    ctx = _ctx(db, lambda: t[0], RiskConfig(velocity_window_seconds=10, velocity_max_count={"A": 2, "B": 2, "C": 2}))
    a = _member(ctx, "a")
    _member(ctx, "c")
    osvc.submit(ctx, a, [_ob("w-1", "a", "c", 1), _ob("w-2", "a", "c", 1)], batch=True)
    t[0] += timedelta(seconds=9)
    [held] = osvc.submit(ctx, a, [_ob("w-3", "a", "c", 1)], batch=False)
    assert held.obligation.status == "held" and held.obligation.holds[0].values["window_seconds"] == "10"
    t[0] += timedelta(seconds=2)  # w-1 and w-2 are now 11 s old: outside a 10 s window
    [fresh] = osvc.submit(ctx, a, [_ob("w-4", "a", "c", 1)], batch=False)
    assert fresh.obligation.status == "accepted"


def test_a_held_obligation_does_not_poison_the_window_until_released(db):
    """Issue 8, item 8: one oversized held obligation used to hold every later one of its debtor for a window."""
    t = [datetime(2026, 1, 1, tzinfo=UTC)]
    clock = lambda: t[0]  # noqa: E731
    config = RiskConfig(
        velocity_window_seconds=WINDOW,
        single_order_limit={"A": 100, "B": 100, "C": 100},
        velocity_max_amount={"A": 150, "B": 150, "C": 150},
    )
    one, two = _ctx(db, clock, config), _ctx(db, clock, config)
    a = _member(one, "a")
    _member(one, "c")
    [big] = osvc.submit(one, a, [_ob("big", "a", "c", 1_000)], batch=False)
    assert big.obligation.status == "held"
    assert {h.rule for h in big.obligation.holds} == {"single-order-limit", "velocity-amount"}
    t[0] += timedelta(seconds=1)
    [small] = osvc.submit(one, a, [_ob("small-1", "a", "c", 10)], batch=False)
    assert small.obligation.status == "accepted", small.obligation.holds
    # Rejected: never counts.
    [big2] = osvc.submit(two, a, [_ob("big-2", "a", "c", 2_000)], batch=False)
    rejected = holds_svc.review(two, OP, big2.obligation.holds[0].id, decision="reject", reason="no")
    assert rejected.obligation_status == "rejected"  # one rejected hold rejects the obligation
    [small] = osvc.submit(one, a, [_ob("small-2", "a", "c", 10)], batch=False)
    assert small.obligation.status == "accepted", small.obligation.holds
    # Released in the other process: it counts from now on, at its own second, in both processes' windows.
    for h in big.obligation.holds:
        holds_svc.review(two, OP, h.id, decision="release", reason="checked")
    for ctx, oid in ((one, "small-3"), (two, "small-4")):
        [after] = osvc.submit(ctx, a, [_ob(oid, "a", "c", 10)], batch=False)
        assert [(h.rule, h.values["total"]) for h in after.obligation.holds] == [("velocity-amount", "1030")]
    # Once its second leaves the window, it stops counting.
    t[0] += timedelta(seconds=WINDOW)
    [later] = osvc.submit(one, a, [_ob("small-5", "a", "c", 10)], batch=False)
    assert later.obligation.status == "accepted", later.obligation.holds
