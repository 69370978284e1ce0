from __future__ import annotations

import dataclasses
from fractions import Fraction

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from clearing.domain import errors
from clearing.domain.risk import (
    RULES,
    GradedHoldStep,
    History,
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
    graded_levels=(GradedHoldStep(1_000, 3_600), GradedHoldStep(5_000, 86_400)),
)
KNOWN = History(known_counterparties=frozenset({"y"}))
WINDOW = CFG.velocity_window_seconds
VELOCITY = ("velocity-count", "velocity-amount")


def in_window(entries):
    """History's contract, read by the test: the ``(unix_ts, amount)`` rows at a second > NOW − window."""
    return [(ts, a) for ts, a in entries if ts > NOW - WINDOW]


def window_of(entries, known=()):
    """The aggregate a caller hands the rules for these rows at NOW."""
    inside = in_window(entries)
    return History(frozenset(known), window_count=len(inside), window_total=sum(a for _, a in inside))


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
    at = History(frozenset({"y"}), window_count=max_count - 1, window_total=(max_count - 1) * small)
    over = History(frozenset({"y"}), window_count=max_count, window_total=max_count * small)
    assert "velocity-count" not in rules(run(small, tier, at))
    (hold,) = [h for h in run(small, tier, over) if h.rule == "velocity-count"]
    assert hold.values == {"tier": tier, "window_seconds": 600, "count": max_count + 1, "max_count": max_count}


def test_velocity_window_is_half_open():
    # An entry exactly window seconds old is outside; one second younger is inside. The rules see no timestamps:
    # History's contract puts that edge on the caller (the service draws it with VelocityWindow.since, tested in
    # tests/domain/test_velocity.py and tests/services/submission/test_history.py), so these are the aggregates the
    # rows each side of it give, and the holds the rules give for them.
    edge = window_of([(NOW - 600, 1)] * 3, known=("y",))
    inside = window_of([(NOW - 599, 1)] * 3, known=("y",))
    assert (edge.window_count, edge.window_total) == (0, 0)
    assert (inside.window_count, inside.window_total) == (3, 3)
    assert "velocity-count" not in rules(run(1, "B", edge))
    assert "velocity-count" in rules(run(1, "B", inside))


@pytest.mark.parametrize("tier, max_amount", [("A", 5_000), ("B", 2_000), ("C", 300)])
def test_velocity_amount_exactly_at_threshold(tier, max_amount):
    h = History(known_counterparties=frozenset({"y"}), window_count=1, window_total=max_amount - 50)
    assert "velocity-amount" not in rules(run(50, tier, h))
    (hold,) = [x for x in run(51, tier, h) if x.rule == "velocity-amount"]
    assert hold.values == {"tier": tier, "window_seconds": 600, "total": max_amount + 1, "max_amount": max_amount}


@pytest.mark.parametrize("tier, threshold", [("A", 800), ("B", 200), ("C", 50)])
def test_new_counterparty_exactly_at_threshold(tier, threshold):
    fresh = History(known_counterparties=frozenset())
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
    fresh = History(known_counterparties=frozenset(), window_count=10, window_total=10 * 10_000)
    holds = run(10_000, "C", fresh, debtor_suspended=True)
    assert set(rules(holds)) == set(RULES)
    for h in holds:
        assert h.message and h.values


@pytest.mark.parametrize(
    "change, error",
    [
        (dict(tier="D"), errors.UnknownTier),
        # one obligation in the window for 0, or for 1.5: an impossible aggregate
        (dict(history=History(frozenset(), window_count=1, window_total=0)), errors.InvalidRiskInput),
        (dict(history=History(frozenset(), window_count=1, window_total=1.5)), errors.InvalidRiskInput),
        (dict(config=dataclasses.replace(CFG, single_order_limit={"A": 1, "B": 1})), errors.InvalidConfig),
        (dict(config=dataclasses.replace(CFG, velocity_window_seconds=-5)), errors.InvalidConfig),
        (
            dict(config=dataclasses.replace(CFG, graded_levels=(GradedHoldStep(500, 10), GradedHoldStep(100, 10)))),
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
    ok = evaluate(
        Obligation("o", "x", "y", 400 * 10**6),
        MemberRisk("x", "B", False),
        MemberRisk("y", "A", False),
        History(frozenset(), window_count=100, window_total=100 * 400 * 10**6),
        cfg,
        NOW,
    )
    assert ok == ()
    assert "single-order-limit" in rules(
        evaluate(
            Obligation("o", "x", "y", 10**15), MemberRisk("x", "B", False), MemberRisk("y", "A", False), KNOWN, cfg, NOW
        )
    )


# --------------------------------------------------------------------------- window given as an aggregate

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


def evaluate_as(history, amount, tier, creditor_known=True):
    return evaluate(
        Obligation("o", "x", "y", amount),
        MemberRisk("x", tier, False),
        MemberRisk("y", "A", False),
        dataclasses.replace(history, known_counterparties=frozenset({"y"} if creditor_known else ())),
        PROP_CFG,
        NOW,
    )


def counted(entries, amount):
    """(count, total) the velocity rules must see, this obligation included, counted by age: not via window_of."""
    young = [a for ts, a in entries if NOW - ts < WINDOW]  # younger than the window; later than NOW too
    return len(young) + 1, sum(young) + amount


def expected_release(tier, value, limit):
    """The hold policy, worked out here: A fast, B by exact excess over the graded steps, C review."""
    if tier == "A":
        return NOW + PROP_CFG.fast_release_seconds
    if tier == "B":
        excess_bps = Fraction(value - limit, limit) * 10_000
        for step in PROP_CFG.graded_levels:
            if excess_bps <= step.max_excess_bps:
                return NOW + step.hold_seconds
    return None


def expected_velocity(count, total, tier):
    """The velocity holds for ``count`` obligations owing ``total`` (this one included): strictly over the limit."""
    out = {}
    for rule, key, value, limit_key, limit in (
        ("velocity-count", "count", count, "max_count", PROP_CFG.velocity_max_count[tier]),
        ("velocity-amount", "total", total, "max_amount", PROP_CFG.velocity_max_amount[tier]),
    ):
        if value > limit:
            values = {"tier": tier, "window_seconds": WINDOW, key: value, limit_key: limit}
            out[rule] = (values, expected_release(tier, value, limit))
    return out


def velocity_of(holds):
    return {h.rule: (h.values, h.release_after) for h in holds if h.rule in VELOCITY}


@PROP
@given(entries=rows, amount=st.one_of(st.integers(1, 2_000), amounts), tier=st.sampled_from("ABC"), known=st.booleans())
def test_aggregate_of_rows_gives_the_holds_an_independent_count_predicts(entries, amount, tier, known):
    holds = evaluate_as(window_of(entries), amount, tier, known)
    count, total = counted(entries, amount)
    # Exactly the velocity holds the rows predict; they report the true window, never a capped one.
    assert velocity_of(holds) == expected_velocity(count, total, tier)
    for hold in holds:
        if hold.rule in VELOCITY:
            assert str(count if hold.rule == "velocity-count" else total) in hold.message
    # The window reaches only the velocity rules: with none, every other hold is the same.
    alone = evaluate_as(History(frozenset()), amount, tier, known)
    assert [h for h in holds if h.rule not in VELOCITY] == [h for h in alone if h.rule not in VELOCITY]


@PROP
@given(tier=st.sampled_from("ABC"), amount=st.integers(1, 300), dc=st.integers(-2, 2), dt=st.integers(-2, 2))
def test_aggregate_either_side_of_the_velocity_limits(tier, amount, dc, dt):
    """Aggregates landing at a limit, just under and just over: at the limit passes, over it holds (graded)."""
    window_count = max(PROP_CFG.velocity_max_count[tier] - 1 + dc, 0)
    window_total = PROP_CFG.velocity_max_amount[tier] - amount + dt
    assume(window_count <= window_total and (window_count == 0) == (window_total == 0))
    holds = evaluate_as(History(frozenset(), window_count, window_total), amount, tier)
    assert velocity_of(holds) == expected_velocity(window_count + 1, window_total + amount, tier)


@PROP
@given(entries=rows, batch=st.lists(st.integers(1, 3_000), min_size=1, max_size=20), tier=st.sampled_from("ABC"))
def test_running_aggregate_matches_growing_rows(entries, batch, tier):
    """A batch evaluated at one ``now``: advancing (count, total) by each item is the aggregate of the rows with
    the batch's earlier items appended at NOW, and gives the holds an independent count of those rows predicts."""
    running = window_of(entries)
    grown = list(entries)
    for amount in batch:
        assert running == window_of(grown)
        assert velocity_of(evaluate_as(running, amount, tier)) == expected_velocity(*counted(grown, amount), tier)
        grown.append((NOW, amount))
        running = dataclasses.replace(
            running, window_count=running.window_count + 1, window_total=running.window_total + amount
        )


def test_velocity_holds_report_counts_far_past_the_limit():
    # 10,000 obligations in the window against a limit of 3: the hold says 10,001, not 4.
    holds = run(1, "B", History(known_counterparties=frozenset({"y"}), window_count=10_000, window_total=10_000))
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
    bad = History(known_counterparties=frozenset({"y"}), window_count=count, window_total=total)
    with pytest.raises(errors.InvalidRiskInput) as err:
        run(1, history=bad)
    assert err.value.field == "history"


# --------------------------------------------------------------------------- evaluator: config fixed once


@PROP
@given(
    entries=rows,
    amount=st.one_of(st.integers(1, 2_000), amounts),
    tier=st.sampled_from("ABC"),
    known=st.booleans(),
    suspended=st.booleans(),
)
def test_evaluator_gives_what_evaluate_gives(entries, amount, tier, known, suspended):
    history = window_of(entries, known=("y",) if known else ())
    args = Obligation("o", "x", "y", amount), MemberRisk("x", tier, suspended), MemberRisk("y", "A", False), history
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
