"""The vault's arithmetic, recomputed independently: a member's collateral value never exceeds the exact
value × LTV and is short of it by less than one unit per collection; the replay of pledges and unpledges
leaves exactly what was pledged less what came back."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from clearing.domain import pledges as dp

PROP = settings(max_examples=200, deadline=None)
valuations = st.builds(
    dp.Valuation,
    unit_value=st.integers(0, dp.MAX_UNIT_VALUE),
    ltv_bps=st.integers(0, dp.BPS),
    max_age_seconds=st.integers(1, 10**6),
    valued_at=st.integers(0, 10**6),
)


@PROP
@given(st.dictionaries(st.sampled_from("ABCD"), st.tuples(st.integers(0, 2**128 - 1), valuations), max_size=4))
def test_collateral_value_rounds_down_by_less_than_a_unit_per_collection(held):
    units = {c: n for c, (n, _) in held.items()}
    vals = {c: v for c, (_, v) in held.items()}
    now = 0  # nothing is stale at time 0
    exact = sum(Fraction(n * v.unit_value * v.ltv_bps, dp.BPS) for n, v in held.values())
    got = dp.collateral_value(units, vals, now)
    assert got <= exact < got + max(1, len(held))


@PROP
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(1, 5), st.booleans()), max_size=30))
def test_replay_leaves_what_was_pledged_less_what_came_back(moves):
    events, held = [], {}
    for token_id, amount, pledge in moves:
        if not pledge and held.get(token_id, 0) < amount:
            continue  # the vault refuses taking back more than was pledged
        held[token_id] = held.get(token_id, 0) + (amount if pledge else -amount)
        name = "Pledged" if pledge else "Unpledged"
        events.append((name, {"member": "M", "collection": "C", "id": token_id, "amount": amount}))
    replay = dp.replay_vault(events)
    assert replay.positions == {("M", "C", i): n for i, n in held.items() if n}
    assert replay.units("M") == ({"C": sum(held.values())} if sum(held.values()) else {})
