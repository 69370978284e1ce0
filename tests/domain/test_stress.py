"""The operator's what-if (domain/stress.py), recomputed path by path with plain Python."""

from __future__ import annotations

import math

import numpy as np
import pytest

from clearing.domain.stress import StressMember, stress
from clearing.errors import ValidationError


def _member(name, rng, *, drawn=0, flight=0, collateral=0, line=0, drift=0.0, paths=200, horizon=5):
    return StressMember(name, drawn, flight, collateral, line, rng.normal(drift, 100.0, (paths, horizon)))


def _by_hand(m: StressMember, demand: float):
    """(shortfall probability, top-up at 95%, drawn per path and day) by explicit loops."""
    short, need, drawn = 0, [], []
    for path in m.net_paths:
        bal = m.collateral - m.drawn - m.in_flight_net_debit
        low, row = math.inf, []
        for net in path:
            bal += net * demand
            low = min(low, bal + m.credit_line)
            row.append(min(max(-bal, 0.0), m.credit_line))
        short += low < 0
        need.append(max(0.0, -low))
        drawn.append(row)
    return short / len(m.net_paths), math.ceil(float(np.quantile(need, 0.95))), np.array(drawn)


def test_the_cover2_pair_defaults_and_the_rest_is_recomputed_exactly():
    rng = np.random.default_rng(7)
    members = [
        _member("a", rng, drawn=900, flight=100, collateral=0, line=1_000),  # exposure 1000
        _member("b", rng, drawn=0, flight=700, collateral=200, line=800),  # exposure 500
        _member("c", rng, drawn=0, flight=50, collateral=100, line=300, drift=-60.0),  # exposure 0
        _member("d", rng, drawn=100, flight=0, collateral=0, line=400, drift=-20.0),  # exposure 100
        _member("e", rng, collateral=5_000, line=0, drift=10.0),
    ]
    r = stress(members, resources=2_000, demand=2.0)
    assert r.defaulted == ("a", "b") and r.loss == 1_500 and r.pool_after == 500
    assert r.cover2_now.loss == 1_500 and r.cover2_now.covered is True
    survivors = {m.name: m for m in members[2:]}
    got = {s.name: s for s in r.members}
    assert set(got) == set(survivors)
    total = 0
    for name, m in survivors.items():
        prob, topup, drawn = _by_hand(m, 2.0)
        assert got[name].shortfall_probability == round(prob, 4)
        assert got[name].topup_95 == topup
        assert got[name].drawn_end_p95 == int(round(float(np.quantile(drawn[:, -1], 0.95))))
        total = total + drawn
    assert r.pool_need_by_day == tuple(int(round(float(v))) for v in np.quantile(total, 0.95, axis=0))
    assert r.pool_need_95 == max(r.pool_need_by_day) and r.pool_covers == (r.pool_need_95 <= 500)
    # Ordered by the chance of running short: c drifts down fastest.
    assert r.members[0].name == "c" and r.members[0].shortfall_probability > 0.5


def test_more_demand_more_stress():
    rng = np.random.default_rng(3)
    members = [_member("x", rng, flight=500, line=100), _member("y", rng, collateral=300, line=200, drift=-40.0)]
    calm, hot = stress(members, 1_000, demand=1.0), stress(members, 1_000, demand=3.0)
    assert hot.members[0].shortfall_probability >= calm.members[0].shortfall_probability
    assert hot.pool_need_95 >= calm.pool_need_95


def test_bad_input_is_refused_by_name():
    rng = np.random.default_rng(1)
    with pytest.raises(ValidationError, match="demand"):
        stress([_member("x", rng)], 10, demand=0)
    with pytest.raises(ValidationError, match="resources"):
        stress([_member("x", rng)], -1)
    with pytest.raises(ValidationError, match="same horizon"):
        stress([_member("x", rng, horizon=3), _member("y", rng, horizon=4)], 10)
    with pytest.raises(ValidationError, match="credit_line"):
        stress([StressMember("x", 0, 0, 0, -5, np.zeros((2, 2)))], 10)
