"""The simulator's pure core: determinism, money conservation in both models, the scenario's checks."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
from dataclasses import replace

import numpy as np
import pytest

import clearing.domain.simulation as simulation
from clearing.domain.errors import InvalidConfig
from clearing.domain.simulation import COMPLETED, INTERRUPTED, Scenario, generate, simulate

# Small enough to run in a few seconds, long enough for forecasts (day 28), a rescoring and a default.
N, D = 8, 75


@pytest.fixture(scope="module")
def run():
    return simulate(Scenario(), platforms=N, days=D, seed=11)


@pytest.mark.parametrize(
    "module",
    [
        importlib.import_module(f"clearing.domain.simulation.{m.name}")
        for m in pkgutil.iter_modules(simulation.__path__)
    ],
    ids=lambda m: m.__name__,
)
def test_docstring_examples_run(module):
    assert doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE).failed == 0


def test_same_seed_same_report_other_seed_other_demand(run):
    again = simulate(Scenario(), platforms=N, days=D, seed=11)
    assert again.report() == run.report()
    assert np.array_equal(again.clearing.status, run.clearing.status)
    other = simulate(Scenario(), platforms=N, days=D, seed=12)
    assert other.demand.orders != run.demand.orders or other.demand.value != run.demand.value


def test_demand_is_integer_and_heavy_tailed(run):
    amount = run.demand.amount
    assert amount.dtype == np.int64 and (amount > 0).all()
    assert (run.demand.buyer != run.demand.seller).all()
    # Heavy tail: the largest order is far above the median (a lognormal with σ = 1 and a Pareto tail).
    assert amount.max() > 50 * np.median(amount)
    assert np.all(np.diff(run.demand.day) >= 0)


@pytest.mark.parametrize("model", ["prepaid", "clearing"])
def test_every_order_is_completed_or_interrupted(run, model):
    out = getattr(run, model)
    assert set(np.unique(out.status)) <= {COMPLETED, INTERRUPTED}
    rep = run.report()[model]
    assert rep["orders_completed"] + rep["orders_interrupted_all"] == run.demand.orders
    assert rep["value_completed"] + rep["value_interrupted_all"] == run.demand.value
    for key in ("orders_interrupted", "value_interrupted", "capital_locked_mean", "capital_locked_peak"):
        assert type(rep[key]) is int and rep[key] >= 0


def test_prepaid_conserves_money_and_never_goes_negative(run):
    c = run.prepaid.extra["conservation"]
    assert c["lowest_balance"] >= 0
    assert (
        c["prefunded_day0"] + c["topups_sent"] - c["spent_on_orders"] - c["lost_at_defaults"] - c["returned_to_estates"]
        == c["balances_and_in_flight_end"]
    )
    # Capital locked never exceeds the capital committed (targets and top-ups stay within it).
    assert run.prepaid.capital_locked.max() <= int(run.world.capital.sum())


def test_house_conserves_money_and_nets_to_zero(run):
    c = run.clearing.extra["conservation"]
    assert (
        c["collateral_posted_day0"] + c["topups_landed"] - c["withdrawn"] + c["written_down"] - c["returned_to_estates"]
        == c["balances_end"]
    )
    # Every cycle's net positions sum to zero, and the credit repaid never exceeds what was drawn.
    assert (run.clearing.series["net"].sum(axis=1) == 0).all()
    credit = run.clearing.extra["credit"]
    assert 0 <= credit["repaid"] <= credit["drawn"]
    # The settled value (and tier C's escrowed orders) is exactly the value of the orders the house completed.
    escrow = run.clearing.extra["escrow"]["value"]
    assert run.clearing.settled_value + escrow == int(run.demand.amount[run.clearing.status == COMPLETED].sum())


def test_house_runs_on_the_domain_code(run):
    calls = run.clearing.extra["domain_calls"]
    assert calls["risk.evaluate"] == run.demand.orders
    assert calls["liquidity.select_settlement"] == D
    for name in ("tiering.decide", "forecast.forecast_member", "setoff.setoff", "financing.quote", "cover2"):
        assert calls[name] > 0, name


def test_a_defaulter_costs_lenders_in_the_house_and_platforms_in_prepaid():
    sim = simulate(Scenario(defaulter_share=0.2), platforms=10, days=80, seed=5)
    assert (sim.world.default_day >= 0).sum() == 2
    house = sim.report()["clearing"]["default_losses"]
    assert set(house["borne_by"]) <= {"pool lenders"} and house["total"] > 0
    prepaid = sim.report()["prepaid"]["default_losses"]
    assert prepaid["total"] > 0 and "pool lenders" not in prepaid["borne_by"]
    assert [w["member"] for w in sim.report()["clearing"]["waterfall"]]


def test_no_defaulters_no_losses():
    sim = simulate(Scenario(defaulter_share=0.0), platforms=6, days=40, seed=2)
    rep = sim.report()
    assert rep["prepaid"]["default_losses"]["total"] == rep["clearing"]["default_losses"]["total"] == 0
    assert rep["prepaid"]["orders_interrupted"] == rep["prepaid"]["orders_interrupted_all"]


def test_more_capital_fewer_prepaid_interruptions():
    few = simulate(Scenario(capital_days=2.0), platforms=6, days=40, seed=4).report()
    many = simulate(Scenario(capital_days=30.0), platforms=6, days=40, seed=4).report()
    assert many["prepaid"]["orders_interrupted"] < few["prepaid"]["orders_interrupted"]


def test_scenario_overrides_and_refusals():
    s = Scenario.from_mapping({"capital_days": 3, "events": {"payday": 2.0}, "weekly": [1, 1, 1, 1, 1, 1, 1]})
    assert s.capital_days == 3 and s.events["payday"] == 2.0 and s.events["singles_day"] == 4.0
    with pytest.raises(InvalidConfig, match="unknown scenario key 'platfroms'"):
        Scenario.from_mapping({"platfroms": 3})
    with pytest.raises(InvalidConfig, match="events.black_friday"):
        Scenario.from_mapping({"events": {"black_friday": 2.0}})
    with pytest.raises(InvalidConfig, match="fast_bank_days must be an integer"):
        Scenario.from_mapping({"fast_bank_days": 1.5})
    with pytest.raises(InvalidConfig, match="connect_probability must be within 0..1"):
        Scenario.from_mapping({"connect_probability": 2})
    with pytest.raises(InvalidConfig, match="weekly"):
        Scenario.from_mapping({"weekly": [1, 2]})
    with pytest.raises(InvalidConfig, match="platforms must be an integer ≥ 2"):
        generate(Scenario(), platforms=-1, days=10, seed=1)


def test_events_raise_demand():
    base = Scenario(growth_per_year=0.0, weekly=(1.0,) * 7)
    flat = replace(base, events={"summer_sale": 1.0, "singles_day": 1.0, "payday": 1.0})
    _, with_events = generate(replace(base, start=base.start.replace(month=11, day=1)), platforms=5, days=20, seed=3)
    _, without = generate(replace(flat, start=base.start.replace(month=11, day=1)), platforms=5, days=20, seed=3)
    singles = 10  # 11 November
    per_day = np.diff(with_events.day_start)
    assert per_day[singles] > 2.5 * np.median(per_day)
    assert np.diff(without.day_start)[singles] < 1.8 * np.median(np.diff(without.day_start))
