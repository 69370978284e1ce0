"""The score's factors one by one: each rule as docs/credit.md states it, and that worse behaviour never helps."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearing.domain import errors
from clearing.domain.credit import CreditConfig, CreditInputs, assess

TOK = 10**6
CFG = CreditConfig()


def _factor(x: CreditInputs, name: str, cfg: CreditConfig = CFG) -> tuple[int, int]:
    f = next(f for f in assess(x, cfg).factors if f.name == name)
    return f.value, f.contribution


def _steady(**kw) -> CreditInputs:
    base = CreditInputs((10**12,) * 3, 1000, 0, 0, 0, 0, 400)
    return dataclasses.replace(base, **kw)


@pytest.mark.parametrize(
    ("avg", "points"),
    [
        (10**12, 150),  # at the target: all
        (10**13, 150),  # above: still all
        (10**12 - 1, 135),  # just below: one halving
        (10**12 // 2, 135),
        (10**12 // 2 - 1, 120),
        (10**12 // 1024, 0),  # ten halvings: none
        (1, 0),
        (0, 0),
    ],
)
def test_volume_counts_halvings_below_the_target(avg, points):
    assert _factor(_steady(monthly_volumes=(avg,)), "volume") == (avg, points)


@pytest.mark.parametrize(
    ("on_time", "late", "points"),
    [
        (1000, 0, 400),
        (850, 150, 0),  # at the floor (85%): nothing
        (800, 200, 0),  # below the floor: nothing, never negative
        (925, 75, 200),  # half-way from the floor to 100%
        (25, 0, 200),  # perfect but only 25 of the 50 settlements the full points need
        (0, 0, 0),  # no settlements: no evidence
    ],
)
def test_on_time_share_above_the_floor_scaled_by_evidence(on_time, late, points):
    assert _factor(_steady(settled_on_time=on_time, settled_late=late), "on-time")[1] == points


@pytest.mark.parametrize(
    ("vols", "value", "points"),
    [
        ((100, 100, 100), 0, 0),
        ((100, 100, 150), 5000, 0),  # growth earns nothing
        ((100, 100, 90), -1000, -30),  # 10% down: 3 points per 1%
        ((100, 100, 0), -10000, -150),  # capped
        ((0, 0, 100), 0, 0),  # nothing earlier to compare with
        ((100,), 0, 0),
        ((), 0, 0),
    ],
)
def test_trend_penalises_a_falling_last_month(vols, value, points):
    assert _factor(_steady(monthly_volumes=tuple(v * TOK for v in vols)), "trend") == (value, points)


volumes = st.lists(st.integers(0, 10**15), min_size=1, max_size=6).map(tuple)
inputs = st.builds(
    CreditInputs,
    monthly_volumes=volumes,
    settled_on_time=st.integers(0, 5_000),
    settled_late=st.integers(0, 5_000),
    disputes=st.integers(0, 100),
    complaints=st.integers(0, 100),
    defaults=st.integers(0, 3),
    age_days=st.integers(0, 3_000),
)


@settings(max_examples=300, deadline=None)
@given(inputs, st.integers(1, 10**15))
def test_a_smaller_last_month_never_helps(x, cut):
    *earlier, last = x.monthly_volumes
    lower = dataclasses.replace(x, monthly_volumes=(*earlier, max(0, last - cut)))
    assert assess(lower).score <= assess(x).score


@settings(max_examples=300, deadline=None)
@given(inputs, st.integers(1, 100))
def test_a_late_settlement_instead_of_an_on_time_one_never_helps(x, k):
    k = min(k, x.settled_on_time)
    worse = dataclasses.replace(x, settled_on_time=x.settled_on_time - k, settled_late=x.settled_late + k)
    assert assess(worse).score <= assess(x).score


@settings(max_examples=300, deadline=None)
@given(inputs, st.integers(1, 50), st.booleans())
def test_more_incidents_never_help(x, k, dispute):
    more = {"disputes": x.disputes + k} if dispute else {"complaints": x.complaints + k}
    worse = dataclasses.replace(x, **more)
    assert assess(worse).score <= assess(x).score


@settings(max_examples=200, deadline=None)
@given(inputs)
def test_the_score_is_the_sum_and_at_most_the_positive_points(x):
    a = assess(x)
    assert sum(f.contribution for f in a.factors) == a.score
    assert a.score <= CFG.base_points + CFG.volume_points + CFG.on_time_points + CFG.age_points


@pytest.mark.parametrize(
    "cfg",
    [
        CreditConfig(on_time_floor_bps=10_000),
        CreditConfig(volume_halvings=0),
        CreditConfig(on_time_full_settlements=0),
        CreditConfig(trend_cap=-1),
    ],
)
def test_bad_new_config(cfg):
    with pytest.raises(errors.InvalidConfig):
        assess(_steady(), cfg)
