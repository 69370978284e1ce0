from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearing.domain import errors
from clearing.domain.credit import CreditConfig, CreditInputs, assess
from clearing.domain.headroom import headroom, topup_needed
from clearing.errors import ValidationError

counts = st.integers(0, 10_000)
inputs = st.builds(
    CreditInputs,
    monthly_volumes=st.lists(st.integers(0, 10**20), max_size=12).map(tuple),
    settled_on_time=counts,
    settled_late=counts,
    disputes=st.integers(0, 500),
    complaints=st.integers(0, 500),
    defaults=st.integers(0, 5),
    age_days=st.integers(0, 5_000),
)


@settings(max_examples=200, deadline=None)
@given(inputs)
def test_contributions_sum_to_score(x):
    a = assess(x)
    assert sum(f.contribution for f in a.factors) == a.score
    assert 0 <= a.score <= 1000
    assert a.tier in ("A", "B", "C") and a.reasons
    vols = x.monthly_volumes
    avg = sum(vols) // len(vols) if vols else 0
    assert 0 <= a.credit_line <= avg * 3 // 10  # tier A at most 30%
    if a.tier == "C":
        assert a.credit_line == 0
    if x.defaults:
        assert a.tier != "A"


@settings(max_examples=100, deadline=None)
@given(inputs, st.integers(1, 100))
def test_more_defaults_never_help(x, extra):
    worse = dataclasses.replace(x, defaults=x.defaults + extra)
    assert assess(worse).score <= assess(x).score


def test_tier_thresholds_are_config():
    cfg = CreditConfig()
    x = CreditInputs((10**12,) * 3, 1000, 0, 0, 0, 0, 400)
    top = assess(x, cfg)
    assert top.tier == "A" and top.credit_line == 3 * 10**11
    assert assess(x, dataclasses.replace(cfg, tier_a_min_score=top.score + 1)).tier == "B"
    assert assess(x, dataclasses.replace(cfg, tier_a_min_score=top.score)).tier == "A"
    assert assess(x, dataclasses.replace(cfg, tier_a_line_bps=2_000)).credit_line == 2 * 10**11
    young = dataclasses.replace(x, age_days=100)
    assert assess(young).tier == "B" and any("days old" in r for r in assess(young).reasons)
    b = assess(young)
    assert b.credit_line == 10**12 * 1_000 // 10_000


@pytest.mark.parametrize(
    "cfg",
    [
        CreditConfig(tier_a_line_bps=3_001),
        CreditConfig(tier_b_line_bps=3_000, tier_a_line_bps=2_000),
        CreditConfig(volume_target=0),
        CreditConfig(tier_b_min_score=900, tier_a_min_score=800),
        CreditConfig(base_points=-1),
    ],
)
def test_bad_config(cfg):
    with pytest.raises(errors.InvalidConfig):
        assess(CreditInputs((), 0, 0, 0, 0, 0, 0), cfg)


@pytest.mark.parametrize(
    "x",
    [
        CreditInputs([1], 0, 0, 0, 0, 0, 0),
        CreditInputs((-1,), 0, 0, 0, 0, 0, 0),
        CreditInputs((), -1, 0, 0, 0, 0, 0),
        CreditInputs((), 0, 0, 0, 0, 0, 1.5),
    ],
)
def test_bad_inputs(x):
    with pytest.raises(errors.InvalidCreditInputs):
        assess(x)


# -- headroom --------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(*(st.integers(0, 2**200) for _ in range(4)), st.integers(0, 2**200))
def test_topup_is_exact(free, line, used, reserved, carried):
    used = min(used, line)
    t = topup_needed(free, line, used, reserved, carried)
    assert t >= 0
    assert headroom(free + t, line, used, reserved) >= carried
    if t > 0:
        assert headroom(free + t - 1, line, used, reserved) < carried


def test_headroom_values():
    assert headroom(100, 50, 20, 30) == 100
    assert headroom(0, 0, 0, 7) == -7


@pytest.mark.parametrize("args", [(-1, 0, 0, 0), (0, 0, 1, 0), (0, 0, 0, -1), (1.0, 0, 0, 0), (True, 0, 0, 0)])
def test_headroom_rejects(args):
    with pytest.raises(ValidationError):
        headroom(*args)
    with pytest.raises(ValidationError):
        topup_needed(1, 0, 0, 0, -1)
