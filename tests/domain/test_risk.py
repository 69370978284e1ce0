from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearing.domain import errors
from clearing.domain.risk import (
    RULES,
    History,
    HoldLevel,
    MemberRisk,
    RiskConfig,
    evaluate,
    evaluator,
    settlement_route,
)
from clearing.domain.types import Obligation

from .strategies import amounts

NOW = 1_700_000_000
CFG = RiskConfig(
    single_order_limit={"A": 1_000, "B": 500, "C": 100},
    velocity_window_seconds=600,
    velocity_max_count={"A": 5, "B": 3, "C": 2},
    velocity_max_amount={"A": 5_000, "B": 2_000, "C": 300},
    new_counterparty_threshold={"A": 800, "B": 200, "C": 50},
    fast_release_seconds=60,
    graded_levels=(HoldLevel(1_000, 3_600), HoldLevel(5_000, 86_400)),
)
KNOWN = History(recent=(), known_counterparties=frozenset({"y"}))


def run(amount, tier="B", history=KNOWN, debtor_suspended=False, creditor_suspended=False, config=CFG):
    return evaluate(
        Obligation("o", "x", "y", amount),
        MemberRisk("x", tier, debtor_suspended),
        MemberRisk("y", "A", creditor_suspended),
        history,
        config,
        NOW,
    )


def rules(holds):
    return [h.rule for h in holds]


@pytest.mark.parametrize("tier, limit", [("A", 1_000), ("B", 500), ("C", 100)])
def test_single_order_limit_exactly_at_threshold(tier, limit):
    assert "single-order-limit" not in rules(run(limit, tier))
    (hold,) = [h for h in run(limit + 1, tier) if h.rule == "single-order-limit"]
    assert hold.values == {"tier": tier, "amount": limit + 1, "limit": limit}
    assert str(limit) in hold.message and str(limit + 1) in hold.message


@pytest.mark.parametrize("tier, max_count", [("A", 5), ("B", 3), ("C", 2)])
def test_velocity_count_exactly_at_threshold(tier, max_count):
    small = 1
    at = History(recent=tuple((NOW - i, small) for i in range(max_count - 1)), known_counterparties=frozenset({"y"}))
    over = History(recent=tuple((NOW - i, small) for i in range(max_count)), known_counterparties=frozenset({"y"}))
    assert "velocity-count" not in rules(run(small, tier, at))
    (hold,) = [h for h in run(small, tier, over) if h.rule == "velocity-count"]
    assert hold.values == {"tier": tier, "window_seconds": 600, "count": max_count + 1, "max_count": max_count}


def test_velocity_window_is_half_open():
    # an entry exactly window seconds old is outside; one second younger is inside
    edge = History(recent=((NOW - 600, 1),) * 3, known_counterparties=frozenset({"y"}))
    inside = History(recent=((NOW - 599, 1),) * 3, known_counterparties=frozenset({"y"}))
    assert "velocity-count" not in rules(run(1, "B", edge))
    assert "velocity-count" in rules(run(1, "B", inside))


@pytest.mark.parametrize("tier, max_amount", [("A", 5_000), ("B", 2_000), ("C", 300)])
def test_velocity_amount_exactly_at_threshold(tier, max_amount):
    h = History(recent=((NOW - 10, max_amount - 50),), known_counterparties=frozenset({"y"}))
    assert "velocity-amount" not in rules(run(50, tier, h))
    (hold,) = [x for x in run(51, tier, h) if x.rule == "velocity-amount"]
    assert hold.values == {"tier": tier, "window_seconds": 600, "total": max_amount + 1, "max_amount": max_amount}


@pytest.mark.parametrize("tier, threshold", [("A", 800), ("B", 200), ("C", 50)])
def test_new_counterparty_exactly_at_threshold(tier, threshold):
    fresh = History(recent=(), known_counterparties=frozenset())
    assert "new-counterparty" not in rules(run(threshold, tier, fresh))
    (hold,) = [h for h in run(threshold + 1, tier, fresh) if h.rule == "new-counterparty"]
    assert hold.values == {"tier": tier, "creditor": "y", "amount": threshold + 1, "threshold": threshold}
    # a known counterparty is never held by this rule
    assert "new-counterparty" not in rules(run(threshold + 1, tier, KNOWN))


def test_member_suspended_names_each_party():
    holds = run(1, debtor_suspended=True, creditor_suspended=True)
    assert [(h.rule, h.values["role"], h.release_after) for h in holds] == [
        ("member-suspended", "debtor", None),
        ("member-suspended", "creditor", None),
    ]
    assert run(1) == ()


def test_tier_policies():
    # A: fast release
    (a,) = run(1_001, "A")
    assert a.release_after == NOW + 60
    # B graded: ≤10% over → 1h; ≤50% over → 24h; beyond → review
    assert [h.release_after for h in run(550, "B")] == [NOW + 3_600]  # exactly 10% over
    assert [h.release_after for h in run(551, "B")] == [NOW + 86_400]
    assert [h.release_after for h in run(750, "B")] == [NOW + 86_400]  # exactly 50% over
    assert [h.release_after for h in run(751, "B") if h.rule == "single-order-limit"] == [None]
    # C: always review, and it settles through escrow
    assert all(h.release_after is None for h in run(101, "C"))
    assert settlement_route("C") == "escrow" and settlement_route("B") == "net" and settlement_route("A") == "net"


def test_every_rule_name_is_known():
    fresh = History(recent=((NOW, 10_000),) * 10, known_counterparties=frozenset())
    holds = run(10_000, "C", fresh, debtor_suspended=True)
    assert set(rules(holds)) == set(RULES)
    for h in holds:
        assert h.message and h.values


@pytest.mark.parametrize(
    "change, error",
    [
        (dict(tier="D"), errors.UnknownTier),
        (dict(history=History(recent=((NOW, 0),), known_counterparties=frozenset())), errors.InvalidRiskInput),
        (dict(history=History(recent=((NOW, 1.5),), known_counterparties=frozenset())), errors.InvalidRiskInput),
        (dict(config=dataclasses.replace(CFG, single_order_limit={"A": 1, "B": 1})), errors.InvalidConfig),
        (dict(config=dataclasses.replace(CFG, velocity_window_seconds=-5)), errors.InvalidConfig),
        (
            dict(config=dataclasses.replace(CFG, graded_levels=(HoldLevel(500, 10), HoldLevel(100, 10)))),
            errors.InvalidConfig,
        ),
    ],
)
def test_rejects_bad_input(change, error):
    with pytest.raises(error):
        run(5, **change)


def test_mismatched_member_rejected():
    with pytest.raises(errors.InvalidRiskInput):
        evaluate(
            Obligation("o", "x", "y", 1), MemberRisk("z", "A", False), MemberRisk("y", "A", False), KNOWN, CFG, NOW
        )
    with pytest.raises(errors.SelfObligation):
        evaluate(
            Obligation("o", "x", "x", 1), MemberRisk("x", "A", False), MemberRisk("x", "A", False), KNOWN, CFG, NOW
        )


def test_defaults_hold_nothing_ordinary():
    # the default config lets ordinary orders through and holds an absurd one
    cfg = RiskConfig()
    ok = evaluate(Obligation("o", "x", "y", 400 * 10**6), MemberRisk("x", "B", False), MemberRisk("y", "A", False),
                  History(recent=((NOW, 400 * 10**6),) * 100, known_counterparties=frozenset()), cfg, NOW)
    assert ok == ()
    assert "single-order-limit" in rules(evaluate(Obligation("o", "x", "y", 10**15), MemberRisk("x", "B", False),
                                                  MemberRisk("y", "A", False), KNOWN, cfg, NOW))


# --------------------------------------------------------------------------- window given as an aggregate

WINDOW = CFG.velocity_window_seconds
#: Small limits so random histories trip every velocity rule, amounts from 1 up to uint256.
PROP_CFG = dataclasses.replace(
    CFG,
    velocity_max_count={"A": 6, "B": 3, "C": 1},
    velocity_max_amount={"A": 10**6, "B": 5_000, "C": 300},
)
PROP = settings(max_examples=300, deadline=None)

# Timestamps around the window's edges: well before, at and just inside the start, inside, at now, after now.
timestamps = st.one_of(
    st.integers(NOW - 3 * WINDOW, NOW + 60),
    st.sampled_from([NOW - WINDOW - 1, NOW - WINDOW, NOW - WINDOW + 1, NOW - 1, NOW, NOW + 1]),
)
rows = st.lists(st.tuples(timestamps, st.one_of(st.integers(1, 2_000), amounts)), max_size=25)


def in_window(entries):
    """The test's own reading of the window, (NOW − window, ∞): not the module's."""
    return [(ts, a) for ts, a in entries if ts > NOW - WINDOW]


def evaluate_as(history, amount, tier, creditor_known=True):
    return evaluate(
        Obligation("o", "x", "y", amount),
        MemberRisk("x", tier, False),
        MemberRisk("y", "A", False),
        dataclasses.replace(history, known_counterparties=frozenset({"y"} if creditor_known else ())),
        PROP_CFG,
        NOW,
    )


@PROP
@given(entries=rows, amount=st.one_of(st.integers(1, 2_000), amounts), tier=st.sampled_from("ABC"),
       known=st.booleans(), split=st.lists(st.booleans(), min_size=25, max_size=25))
def test_aggregate_and_rows_give_identical_holds(entries, amount, tier, known, split):
    by_rows = evaluate_as(History(recent=tuple(entries), known_counterparties=frozenset()), amount, tier, known)
    inside = in_window(entries)
    counted = History(recent=(), known_counterparties=frozenset(), window_count=len(inside),
                      window_total=sum(a for _, a in inside))
    assert evaluate_as(counted, amount, tier, known) == by_rows
    # Any split: some in-window rows pre-counted, the rest (and every row outside) listed.
    pre = [e for e, s in zip(inside, split, strict=False) if s]  # split has 25 flags, inside up to 25 rows
    listed = [e for e, s in zip(inside, split, strict=False) if not s] + [e for e in entries if e not in inside]
    mixed = History(recent=tuple(listed), known_counterparties=frozenset(), window_count=len(pre),
                    window_total=sum(a for _, a in pre))
    assert evaluate_as(mixed, amount, tier, known) == by_rows
    # The holds report the true window, never a capped one.
    for hold in by_rows:
        if hold.rule == "velocity-count":
            assert hold.values["count"] == len(inside) + 1
        if hold.rule == "velocity-amount":
            assert hold.values["total"] == sum(a for _, a in inside) + amount


@PROP
@given(entries=rows, batch=st.lists(st.integers(1, 3_000), min_size=1, max_size=20), tier=st.sampled_from("ABC"))
def test_running_aggregate_matches_growing_rows(entries, batch, tier):
    """A batch evaluated at one ``now``: advancing (count, total) by each item equals appending it as a row."""
    inside = in_window(entries)
    grown = list(entries)
    count, total = len(inside), sum(a for _, a in inside)
    for amount in batch:
        by_rows = evaluate_as(History(recent=tuple(grown), known_counterparties=frozenset()), amount, tier)
        by_count = evaluate_as(History(recent=(), known_counterparties=frozenset(), window_count=count,
                                       window_total=total), amount, tier)
        assert by_count == by_rows
        grown.append((NOW, amount))
        count, total = count + 1, total + amount


def test_velocity_holds_report_counts_far_past_the_limit():
    # 10,000 obligations in the window against a limit of 3: the hold says 10,001, not 4.
    holds = run(1, "B", History(recent=(), known_counterparties=frozenset({"y"}), window_count=10_000,
                                window_total=10_000))
    (count,) = [h for h in holds if h.rule == "velocity-count"]
    (amount,) = [h for h in holds if h.rule == "velocity-amount"]
    assert count.values["count"] == 10_001 and count.values["max_count"] == 3
    assert amount.values["total"] == 10_001 and amount.values["max_amount"] == 2_000
    assert "10001" in count.message and "10001" in amount.message


@pytest.mark.parametrize(
    "count, total",
    [(-1, 0), (1, 0), (0, 5), (3, 2), (True, 1), (1.0, 1), (1, 1.0), (None, 0)],
)
def test_rejects_impossible_aggregates(count, total):
    bad = History(recent=(), known_counterparties=frozenset({"y"}), window_count=count, window_total=total)
    with pytest.raises(errors.InvalidRiskInput) as err:
        run(1, history=bad)
    assert err.value.field == "history"


# --------------------------------------------------------------------------- evaluator: config fixed once


@PROP
@given(entries=rows, amount=st.one_of(st.integers(1, 2_000), amounts), tier=st.sampled_from("ABC"),
       known=st.booleans(), suspended=st.booleans())
def test_evaluator_gives_what_evaluate_gives(entries, amount, tier, known, suspended):
    inside = in_window(entries)
    for history in (History(recent=tuple(entries), known_counterparties=frozenset({"y"} if known else ())),
                    History(recent=(), known_counterparties=frozenset({"y"} if known else ()),
                            window_count=len(inside), window_total=sum(a for _, a in inside))):
        args = (
            Obligation("o", "x", "y", amount), MemberRisk("x", tier, suspended), MemberRisk("y", "A", False), history
        )
        assert evaluator(PROP_CFG, NOW)(*args) == evaluate(*args, PROP_CFG, NOW)


def test_evaluator_keeps_the_config_it_validated():
    limits = {"A": 1_000, "B": 500, "C": 100}
    cfg = dataclasses.replace(CFG, single_order_limit=limits)
    rules = evaluator(cfg, NOW)
    args = (Obligation("o", "x", "y", 700), MemberRisk("x", "B", False), MemberRisk("y", "A", False), KNOWN)
    assert [h.rule for h in rules(*args)] == ["single-order-limit"]
    limits["B"] = 10_000  # a later change reaches evaluate, not the evaluator made before it
    assert rules(*args) != () and evaluate(*args, cfg, NOW) == ()
    limits["B"] = -1
    with pytest.raises(errors.InvalidConfig):
        evaluate(*args, cfg, NOW)
    assert [h.rule for h in rules(*args)] == ["single-order-limit"]


def test_evaluator_checks_config_and_now_up_front():
    with pytest.raises(errors.InvalidConfig):
        evaluator(dataclasses.replace(CFG, velocity_window_seconds=0), NOW)
    with pytest.raises(errors.InvalidRiskInput) as err:
        evaluator(CFG, float(NOW))  # type: ignore[arg-type]
    assert err.value.field == "now"
    rules = evaluator(CFG, NOW)
    with pytest.raises(errors.InvalidRiskInput):
        rules(Obligation("o", "x", "y", 1), MemberRisk("z", "A", False), MemberRisk("y", "A", False), KNOWN)
    with pytest.raises(errors.SelfObligation):
        rules(Obligation("o", "x", "x", 1), MemberRisk("x", "A", False), MemberRisk("x", "A", False), KNOWN)
