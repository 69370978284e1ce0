"""The forecast model on generated flows whose truth is known: uplifts, bands, shortfalls and top-ups."""

from __future__ import annotations

import math
import random
from datetime import date, timedelta

import numpy as np
import pytest

from clearing.domain.forecast import (
    TOPUP_TARGET,
    DailyFlow,
    PoolMember,
    forecast_member,
    pool_forecast,
    simulate_flows,
)
from clearing.domain.forecast.model import stable_seed
from clearing.domain.forecast.projection import project

START = date(2025, 3, 25)


def generate(seed: int, *, days: int = 365 + 14, level: float = 1e7, ratio: float = 1.0, sigma: float = 0.15):
    """Daily flows with weekends up, a payday on the 1st (inflow × 1.5) and a sale every 1 Apr (both × 3)."""
    rng = random.Random(seed)
    out = []
    for i in range(days):
        d = START + timedelta(i)
        a = level * (1.4 if d.weekday() >= 5 else 1.0)
        b = level * ratio
        if d.day == 1:
            a *= 1.5
        if (d.month, d.day) == (4, 1):
            a, b = a * 3, b * 3
        out.append(DailyFlow(d, int(a * math.exp(rng.gauss(0, sigma))), int(b * math.exp(rng.gauss(0, sigma)))))
    return out


def calendar(days):
    ev: dict[date, frozenset[str]] = {}
    for f in days:
        names = {"payday"} if f.day.day == 1 else set()
        if (f.day.month, f.day.day) == (4, 1):
            names.add("spring-sale")
        if names:
            ev[f.day] = frozenset(names)
    return ev


def test_learns_the_event_uplift_and_the_weekday_from_past_occurrences():
    flows = generate(1)
    history, held_out = flows[:-14], flows[-14:]
    assert any(f.day == date(2026, 4, 1) for f in held_out)  # the sale recurs inside the forecast
    f = forecast_member("m", history, horizon=14, events=calendar(flows))
    by_day = {d.day: d for d in f.days}
    sale, normal = by_day[date(2026, 4, 1)], by_day[date(2026, 4, 2)]
    assert 2.3 < sale.outflow_p50 / normal.outflow_p50 < 3.9
    weekend = [d for d in f.days if d.day.weekday() >= 5 and d.day.day != 1 and d.day != date(2026, 4, 1)]
    weekday = [d for d in f.days if d.day.weekday() < 5 and d.day.day != 1 and d.day != date(2026, 4, 1)]
    ratio = np.mean([d.inflow_p50 for d in weekend]) / np.mean([d.inflow_p50 for d in weekday])
    assert 1.25 < ratio < 1.55
    # Without the calendar the sale is invisible: the model cannot invent it.
    blind = {d.day: d for d in forecast_member("m", history, horizon=14).days}
    assert blind[date(2026, 4, 1)].outflow_p50 < 1.5 * blind[date(2026, 4, 2)].outflow_p50


@pytest.mark.parametrize("seed", [3, 17, 2026])
def test_beats_seasonal_naive_and_the_band_covers_about_ninety_percent(seed):
    inside = total = 0
    ratios = []
    for k in range(20):
        flows = generate(seed * 100 + k, level=10 ** (5 + k % 4), ratio=0.9 + 0.02 * k)
        history, held_out = flows[:-14], flows[-14:]
        f = forecast_member(f"m{k}", history, horizon=14, events=calendar(flows))
        actual = [h.inflow - h.outflow for h in held_out]
        model = sum(abs(d.net_p50 - a) for d, a in zip(f.days, actual, strict=True))
        naive = sum(abs(d.naive_net - a) for d, a in zip(f.days, actual, strict=True))
        ratios.append(model / naive)
        inside += sum(d.net_p05 <= a <= d.net_p95 for d, a in zip(f.days, actual, strict=True))
        total += len(actual)
    assert math.exp(np.mean(np.log(ratios))) < 0.8
    assert 0.8 <= inside / total <= 0.97


def test_a_draining_member_gets_a_shortfall_date_and_the_advised_topup_keeps_the_risk_at_five_percent():
    flows = generate(5, ratio=1.3)  # pays out 30% more than it takes in: about 3e6 a day
    history = flows[:-14]
    f = forecast_member("drain", history, horizon=14, events=calendar(flows), balance=10_000_000)
    assert f.shortfall_date is not None and f.topup is not None
    probs = [d.shortfall_probability for d in f.days]
    assert probs == sorted(probs)  # on or before the day: never falls
    first_10 = next(d.day for d in f.days if d.shortfall_probability >= 0.10)
    assert f.shortfall_date == first_10
    first_5 = next(d.day for d in f.days if d.shortfall_probability > TOPUP_TARGET)
    assert f.topup.by == first_5 - timedelta(1)
    # The advice is enough, and not much more than enough: with it the risk is ≤ 5%, with 10% less it is not.
    paths = simulate_flows(history, horizon=14, events=calendar(flows), seed=stable_seed("drain"))
    with_topup = project("drain", paths, 10_000_000 + f.topup.amount)
    assert max(d.shortfall_probability for d in with_topup.days) <= TOPUP_TARGET
    # On paths it has not seen (another seed, ten times as many), still about 5%.
    fresh = simulate_flows(history, horizon=14, events=calendar(flows), seed=11, n_paths=20_000)
    assert max(d.shortfall_probability for d in project("drain", fresh, 10_000_000 + f.topup.amount).days) < 0.065
    short_of_it = project("drain", paths, 10_000_000 + int(f.topup.amount * 0.9))
    assert max(d.shortfall_probability for d in short_of_it.days) > TOPUP_TARGET


def test_a_comfortable_member_has_no_shortfall_and_no_advice():
    flows = generate(6, ratio=0.8)
    f = forecast_member("rich", flows[:-14], horizon=14, events=calendar(flows), balance=10**9)
    assert f.shortfall_date is None and f.topup is None
    assert all(d.shortfall_probability == 0.0 for d in f.days)
    assert all(d.balance_p05 is not None and d.balance_p05 > 0 for d in f.days)


def test_no_balance_means_no_projection():
    f = forecast_member("m", generate(7)[:100], horizon=7)
    assert f.shortfall_date is None and f.topup is None
    assert [d.balance_p50 for d in f.days] == [None] * 7


def test_short_and_sparse_histories_still_forecast():
    one = forecast_member("new", [DailyFlow(date(2026, 1, 1), 500, 700)], horizon=7, balance=1_000)
    assert len(one.days) == 7 and one.model.endswith("-short")
    assert one.days[0].day == date(2026, 1, 2)
    gaps = forecast_member("gappy", [DailyFlow(date(2026, 1, 1), 10, 0), DailyFlow(date(2026, 3, 1), 0, 10)])
    assert gaps.start == date(2026, 3, 2) and len(gaps.days) == 14


def test_the_same_data_gives_the_same_numbers():
    flows = generate(8)[:200]
    assert forecast_member("m", flows, balance=5).days == forecast_member("m", flows, balance=5).days


@pytest.mark.parametrize(
    "history, horizon, message",
    [
        ([], 14, "at least one day"),
        ([DailyFlow(date(2026, 1, 1), -1, 0)], 14, "never negative"),
        ([DailyFlow(date(2026, 1, 1), 1, 0)], 0, "horizon"),
        ([DailyFlow(date(2026, 1, 1), 1, 0)], 32, "horizon"),
    ],
)
def test_refuses_what_it_cannot_forecast(history, horizon, message):
    with pytest.raises(ValueError, match=message):
        forecast_member("m", history, horizon=horizon)


def test_the_pool_needs_what_draining_members_draw_within_their_lines():
    flows = generate(9, ratio=1.3)  # drains about 3e6 a day
    drain = forecast_member("drain", flows[:-14], horizon=14, events=calendar(flows))
    steady = forecast_member("steady", generate(10, ratio=0.8)[:-14], horizon=14, events=calendar(flows))
    pool = pool_forecast(
        [PoolMember(drain, balance=0, credit_line=20_000_000), PoolMember(steady, balance=10**9, credit_line=10**9)],
        liquidity=50_000_000,
    )
    assert len(pool.days) == 14
    assert pool.days[-1].drawn_p50 > pool.days[0].drawn_p50 > 0  # drawing grows as the member drains
    assert pool.needed_95 <= 20_000_000  # never more than the draining member's line
    assert pool.needed_95 >= pool.days[-1].drawn_p50
    assert pool.idle == 50_000_000 - pool.needed_95
    assert pool.days[-1].utilisation_p95_bps == math.ceil(10_000 * pool.days[-1].drawn_p95 / 50_000_000)
    tight = pool_forecast([PoolMember(drain, balance=0, credit_line=20_000_000)], liquidity=1_000_000)
    assert tight.idle == 0 and tight.days[-1].utilisation_p95_bps > 10_000
