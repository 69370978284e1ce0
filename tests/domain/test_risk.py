from __future__ import annotations

import dataclasses

import pytest

from clearing.domain import errors
from clearing.domain.risk import (
    RULES,
    History,
    HoldLevel,
    MemberRisk,
    RiskConfig,
    evaluate,
    settlement_route,
)
from clearing.domain.types import Obligation

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
        (dict(config=dataclasses.replace(CFG, graded_levels=(HoldLevel(500, 10), HoldLevel(100, 10)))), errors.InvalidConfig),
    ],
)
def test_rejects_bad_input(change, error):
    with pytest.raises(error):
        run(5, **change)


def test_mismatched_member_rejected():
    with pytest.raises(errors.InvalidRiskInput):
        evaluate(Obligation("o", "x", "y", 1), MemberRisk("z", "A", False), MemberRisk("y", "A", False), KNOWN, CFG, NOW)
    with pytest.raises(errors.SelfObligation):
        evaluate(Obligation("o", "x", "x", 1), MemberRisk("x", "A", False), MemberRisk("x", "A", False), KNOWN, CFG, NOW)


def test_defaults_hold_nothing_ordinary():
    # the default config lets ordinary orders through and holds an absurd one
    cfg = RiskConfig()
    ok = evaluate(Obligation("o", "x", "y", 400 * 10**6), MemberRisk("x", "B", False), MemberRisk("y", "A", False),
                  History(recent=((NOW, 400 * 10**6),) * 100, known_counterparties=frozenset()), cfg, NOW)
    assert ok == ()
    assert "single-order-limit" in rules(evaluate(Obligation("o", "x", "y", 10**15), MemberRisk("x", "B", False),
                                                  MemberRisk("y", "A", False), KNOWN, cfg, NOW))
