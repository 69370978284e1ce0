"""Tiers and lines from the score: hysteresis, caps, provisional lines, pins, and the limit on chain."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearing.domain import credit, tiering
from clearing.domain.credit import MAX_TIER_A_LINE_BPS, CreditConfig, CreditInputs, factor_rule, improvements
from clearing.domain.errors import InvalidConfig
from clearing.domain.tiering import Pin, Position, TieringConfig, TierPolicy, TierState, line_cap, provisional_line

TOK = 10**6
MILLION = 1_000_000 * TOK
CFG = TieringConfig()
NOWHERE = Position(collateral=0, drawn=0)
#: The score's weights these tests are written against, spelled out: the formula's defaults are the
#: backtest's to tune, and hysteresis, caps and pins must hold whatever they are.
CC = CreditConfig(
    base_points=250,
    volume_points=150,
    volume_target=MILLION,
    volume_halvings=10,
    on_time_points=400,
    on_time_floor_bps=8_500,
    on_time_full_settlements=50,
    age_points=150,
    age_target_days=365,
    incident_points_per_pct=50,
    incident_cap=250,
    default_penalty=300,
    default_cap=600,
    trend_points_per_pct=3,
    trend_cap=150,
    tier_a_min_score=750,
    tier_a_min_age_days=180,
    tier_b_min_score=500,
)


def assess(x: CreditInputs, config: CreditConfig = CC) -> credit.CreditAssessment:
    return credit.assess(x, config)


def decide(x, state, position, pin=None, config: TieringConfig = CFG) -> tiering.Decision:
    return tiering.decide(x, state, position, pin, config, config.credit_config(CC))


def scored(on_time: int, *, volume: int = MILLION, age: int = 400, defaults: int = 0) -> CreditInputs:
    """``on_time`` of 1,000 settlements on time, steady volume: 250 base + 150 volume (at 1M) + 150 age
    (at 365 days) + 400 × (share on time − 85%) / 15%, about 2.7 points per settlement above 850."""
    return CreditInputs((volume,) * 3, on_time, 1_000 - on_time, 0, 0, defaults, age)


def test_the_helper_scores_as_expected():
    assert assess(scored(916)).score == 726 and assess(scored(934)).score == 774
    assert assess(scored(935)).score == 776 and assess(scored(915)).score == 723
    assert assess(scored(1_000)).score == 950 and assess(scored(850)).score == 550


def run(state: TierState, seq: list[CreditInputs], position: Position = NOWHERE, every: int = 7, **kw) -> list[str]:
    """Assess ``seq`` in turn, ``every`` days apart (the member ages between assessments)."""
    tiers = []
    for k, x in enumerate(seq):
        d = decide(dataclasses.replace(x, age_days=x.age_days + k * every), state, position, **kw)
        tiers.append(d.tier)
        state = d.state
    return tiers


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(916, 934), min_size=1, max_size=30))
def test_scores_inside_the_band_never_move_the_tier(pcts):
    """Every score between 726 and 774 is inside A's band (750 ± 25): an A stays A, a B stays B."""
    seq = [scored(p) for p in pcts]
    assert run(TierState("A"), seq) == ["A"] * len(seq)
    assert run(TierState("B"), seq) == ["B"] * len(seq)


def test_a_score_crossing_the_threshold_back_and_forth_does_not_flap():
    seq = [scored(p) for p in (920, 930, 920, 930, 920, 930)]  # 736, 763, 736, ...: across 750 every time
    assert {assess(x).tier for x in seq} == {"A", "B"}  # the bare score would flap
    assert run(TierState("B"), seq) == ["B"] * 6


def test_promotion_needs_the_score_to_hold_above_the_margin_for_days():
    high, mid = scored(955), scored(920)  # 830 and 736
    first = decide(high, TierState("B"), NOWHERE)
    assert (first.tier, first.state.pending_tier, first.state.pending_since) == ("B", "A", 400)
    assert any("earning tier A" in r for r in first.reasons)
    # held for 14 days (three assessments a week apart): promoted; however many rescorings came in between
    assert run(TierState("B"), [high, high, high]) == ["B", "B", "A"]
    daily = run(TierState("B"), [high] * 16, every=1)  # sixteen rescorings a day apart
    assert daily.index("A") == 14 and set(daily[14:]) == {"A"}  # promoted on the 14th day, not before
    # a dip restarts the clock
    assert run(TierState("B"), [high, high, mid, high, high]) == ["B", "B", "B", "B", "B"]
    slow = dataclasses.replace(CFG, promote_after_days=30)
    assert run(TierState("B"), [high] * 5, config=slow) == ["B", "B", "B", "B", "B"]
    assert run(TierState("B"), [high], config=dataclasses.replace(CFG, promote_after_days=0)) == ["A"]


def test_demotion_is_immediate_below_the_margin_and_a_default_ends_tier_a():
    assert run(TierState("A"), [scored(915)]) == ["B"]  # 723 < 725
    d = decide(scored(1_000, defaults=1), TierState("A"), NOWHERE)  # 950 − 300 = 650, and a default
    assert d.tier == "B" and "demoted A → B" in d.reasons[0]
    assert run(TierState("A"), [scored(0, volume=0, defaults=2)]) == ["C"]


def test_a_member_in_default_has_tier_c_and_no_line_whatever_its_score_or_pin_and_starts_again_from_c():
    best = scored(1_000, defaults=1)
    owing = Position(collateral=0, drawn=7 * TOK, in_default=True)
    d = decide(best, TierState("A"), owing, Pin(tier="A", credit_line=MILLION, above_cap=True, reason="vip"))
    assert (d.tier, d.score_tier, d.credit_line, d.source, d.state) == ("C", "C", 0, "default", TierState("C"))
    assert d.chain_limit == 7 * TOK and d.frozen  # the limit on chain never below the debt
    assert d.reasons[0].startswith("in default") and not any(" is below the " in r for r in d.reasons)
    allocated = decide(best, TierState("A"), dataclasses.replace(owing, drawn=0))
    assert (allocated.chain_limit, allocated.frozen) == (0, False)  # the waterfall cleared the debt
    # Cured: the score decides again, from C (a promotion takes promote_after_days like any other).
    assert run(TierState("C"), [best, best, best]) == ["C", "C", "B"]


def test_the_line_follows_the_tier_policy_and_the_cap_holds():
    a = decide(scored(1_000), TierState("A"), NOWHERE)
    assert a.credit_line == 3 * MILLION // 10 == a.line_cap and a.chain_limit == a.credit_line
    assert a.formula == f"30% × average monthly volume of the last 3 months ({MILLION}) = {a.credit_line}"
    b = decide(scored(920), TierState("B"), NOWHERE)
    assert b.credit_line == MILLION // 10
    capped = dataclasses.replace(CFG, policies={**CFG.policies, "B": TierPolicy(1_000, 5 * TOK, 7)})
    b2 = decide(scored(920), TierState("B"), NOWHERE, config=capped)
    assert b2.credit_line == 5 * TOK and "capped by tier B's policy" in b2.formula
    c = decide(scored(0, volume=0), TierState("C"), NOWHERE)
    assert (c.tier, c.credit_line) == ("C", 0)


states = st.builds(
    TierState,
    tier=st.sampled_from("ABC"),
    provisional=st.booleans(),
    pending_tier=st.sampled_from([None, "A", "B"]),
    pending_since=st.one_of(st.none(), st.integers(0, 1000)),
    provisional_request=st.one_of(st.none(), st.integers(0, 10**15)),
)
inputs = st.builds(
    CreditInputs,
    monthly_volumes=st.lists(st.integers(0, 10**16), max_size=3).map(tuple),
    settled_on_time=st.integers(0, 500),
    settled_late=st.integers(0, 500),
    disputes=st.integers(0, 20),
    complaints=st.integers(0, 20),
    defaults=st.integers(0, 3),
    age_days=st.integers(0, 1000),
    repaid_on_time=st.integers(0, 50),
    repaid_late=st.integers(0, 50),
)
positions = st.builds(Position, collateral=st.integers(0, 10**16), drawn=st.integers(0, 10**16))
pins = st.one_of(
    st.none(),
    st.builds(
        Pin,
        tier=st.sampled_from([None, "A", "B", "C"]),
        credit_line=st.one_of(st.none(), st.integers(0, 10**16)),
        above_cap=st.booleans(),
        reason=st.just("ops"),
    ),
)


@settings(max_examples=300, deadline=None)
@given(inputs, states, positions, pins)
def test_invariants_of_every_decision(x, state, position, pin):
    d = decide(x, state, position, pin)
    vols = x.monthly_volumes
    assert d.line_cap == (sum(vols) // len(vols) if vols else 0) * MAX_TIER_A_LINE_BPS // 10_000
    # the 30% cap holds but for a provisional line (bounded by policy and collateral) or an explicit above_cap pin
    if not (pin and pin.credit_line is not None and pin.above_cap):
        bound = provisional_line(position.collateral, CFG, state.provisional_request) if d.state.provisional else 0
        assert d.credit_line <= max(d.line_cap, bound)
    if d.state.provisional:
        assert state.provisional and d.tier in (CFG.provisional_tier, pin.tier if pin else None)
    # the chain never gets a limit below the debt (the contract's invariant), and a line below it freezes credit
    assert d.chain_limit == max(d.credit_line, position.drawn)
    assert d.frozen == (d.credit_line < position.drawn)
    if pin is not None and pin.tier is not None:
        assert d.tier == pin.tier and d.source == "override"
    if d.tier == "C" and not (pin and pin.credit_line is not None):
        assert d.credit_line == 0
    if x.defaults and not (pin and pin.tier):
        assert d.tier != "A"
    assert d.reasons


def test_a_provisional_line_is_bounded_by_policy_and_collateral_and_the_score_confirms_it():
    new = CreditInputs((0,), 0, 0, 0, 0, 0, age_days=2)
    state = TierState("B", provisional=True)
    thin = decide(new, state, Position(collateral=4_000 * TOK, drawn=0))
    assert (thin.tier, thin.source, thin.credit_line) == ("B", "provisional", 2_000 * TOK)  # 50% of collateral
    rich = decide(new, state, Position(collateral=10**9 * TOK, drawn=0))
    assert rich.credit_line == CFG.provisional_line_cap and "provisional" in rich.formula
    asked = decide(new, TierState("B", provisional=True, provisional_request=500 * TOK), Position(10**9 * TOK, 0))
    assert asked.credit_line == 500 * TOK and asked.state.provisional_request == 500 * TOK
    assert decide(new, state, NOWHERE).credit_line == 0  # nothing posted, nothing lent
    # the score confirms the provisional tier once it has qualified for promote_after_days
    good = CreditInputs((300_000 * TOK,), 20, 0, 0, 0, 0, age_days=10)  # 250 + 120 + 160 + 4 = 534 ≥ 525
    one = decide(good, state, Position(10**9 * TOK, 0))
    assert one.state.provisional and one.state.pending_since == 10
    two = decide(dataclasses.replace(good, age_days=24), one.state, Position(10**9 * TOK, 0))
    assert not two.state.provisional and two.tier == "B" and two.source == "score"
    assert two.credit_line == 30_000 * TOK  # the earned line now: 10% of 300,000
    assert "confirmed by the score" in two.reasons[0]


def test_a_default_withdraws_a_provisional_line_and_the_period_ends():
    state = TierState("B", provisional=True)
    bad = CreditInputs((0,), 0, 0, 0, 0, 1, age_days=5)
    d = decide(bad, state, Position(collateral=10**9 * TOK, drawn=700 * TOK))
    assert not d.state.provisional and (d.tier, d.credit_line) == ("C", 0)
    assert d.frozen and d.chain_limit == 700 * TOK and "withdrawn" in d.reasons[0]
    idle = CreditInputs((0,), 0, 0, 0, 0, 0, age_days=CFG.provisional_days)
    over = decide(idle, state, Position(10**9 * TOK, 0))
    assert not over.state.provisional and over.tier == "C" and "provisional period" in over.reasons[0]


def test_pins_override_tier_and_line_within_the_cap_unless_above_cap():
    x = scored(1_000)  # tier A, line 300,000 tokens, cap the same
    low = decide(x, TierState("A"), NOWHERE, Pin(credit_line=1_000, reason="risk review"))
    assert low.credit_line == 1_000 and low.tier == "A" and "pinned" in low.formula
    high = decide(x, TierState("A"), NOWHERE, Pin(credit_line=9 * MILLION, reason="x"))
    assert high.credit_line == high.line_cap and "capped" in high.formula
    above = decide(x, TierState("A"), NOWHERE, Pin(credit_line=9 * MILLION, above_cap=True, reason="x"))
    assert above.credit_line == 9 * MILLION and "above the cap" in above.formula
    c = decide(x, TierState("A"), NOWHERE, Pin(tier="C", reason="chargebacks"))
    assert (c.tier, c.score_tier, c.credit_line, c.source) == ("C", "A", 0, "override")
    assert c.reasons[0] == "tier C pinned by the operator: chargebacks"


def test_config_is_validated():
    with pytest.raises(InvalidConfig, match="30%"):
        decide(
            scored(950),
            TierState("A"),
            NOWHERE,
            config=dataclasses.replace(CFG, policies={**CFG.policies, "A": TierPolicy(3_001, None, 14)}),
        )
    with pytest.raises(InvalidConfig) as err:
        TieringConfig(policies={**CFG.policies, "C": TierPolicy(100, None, 3)}).validate()
    assert err.value.field == "policies.C.line_bps"
    with pytest.raises(InvalidConfig):
        TieringConfig(promote_after_days=-1).validate()
    assert line_cap(()) == 0


@settings(max_examples=200, deadline=None)
@given(inputs)
def test_improvements_are_real_and_positive(x):
    base = assess(x).score  # the explicit weights; improvements re-score with them
    for i in improvements(x, CC):
        assert i.points > 0 and i.action
        assert base + i.points <= 1000
    assert factor_rule("volume", CC).startswith("volume: 150 points at an average monthly volume of")
    assert factor_rule("trend", CC).startswith("trend: −3 points per 1%")
    assert factor_rule("mystery") == "mystery: see clearing.domain.credit"


def test_repaid_drawings_fold_into_on_time():
    x = CreditInputs((), 0, 0, 0, 0, 0, 0)
    on_time = dataclasses.replace(x, repaid_on_time=50)
    late = dataclasses.replace(x, repaid_late=50)
    assert assess(on_time).score - assess(x).score == 400  # 50 repayments by the deadline: the full on-time points
    assert assess(dataclasses.replace(x, repaid_on_time=4)).score - assess(x).score == 32  # 4 of the 50
    assert assess(late).score == assess(x).score
    # a repayment counts like a settlement: the same share and count, the same points
    settled = dataclasses.replace(x, settled_on_time=45, settled_late=5)
    repaid = dataclasses.replace(x, settled_on_time=45, repaid_late=5)
    assert assess(repaid).score == assess(settled).score
    assert assess(repaid).score < assess(dataclasses.replace(x, settled_on_time=45)).score  # repaying late costs
    mixed = dataclasses.replace(x, settled_on_time=3, repaid_late=1)
    assert [f.value for f in assess(mixed).factors if f.name == "on-time"] == [7_500]


@settings(max_examples=300, deadline=None)
@given(inputs, st.sampled_from("ABC"), st.integers(0, 80), st.integers(0, 80))
def test_the_next_tier_is_the_score_with_thresholds_shifted_by_the_margins(x, tier, up_margin, down_margin):
    """A reference: demote to the tier of thresholds − demote margin, promote (at once here) to the tier of
    thresholds + promote margin, each assessed in full (decide skips the assessments that cannot differ)."""
    cfg = dataclasses.replace(CFG, promote_margin=up_margin, demote_margin=down_margin, promote_after_days=0)
    cc = cfg.credit_config(CC)

    def shifted(d: int) -> str:
        a, b = max(0, cc.tier_a_min_score + d), max(0, cc.tier_b_min_score + d)
        return assess(x, dataclasses.replace(cc, tier_a_min_score=a, tier_b_min_score=b)).tier

    rank = {"C": 0, "B": 1, "A": 2}
    up, down = shifted(up_margin), shifted(-down_margin)
    expected = down if rank[down] < rank[tier] else up if rank[up] > rank[tier] else tier
    assert decide(x, TierState(tier), NOWHERE, config=cfg).tier == expected
