"""From simulated flows to what a member acts on: bands, shortfall probability, shortfall date, top-up advice.

A shortfall is the projected balance (free collateral plus unused credit)
falling below zero. Day *d*'s probability is that of a shortfall on or before
*d* (so it never falls), the shortfall date is the first day it reaches
``SHORTFALL_ALERT`` (10%), and the advised top-up is the smallest amount that
keeps it at or under ``TOPUP_TARGET`` (5%) over the whole horizon, due by the
end of the day before the first day that would exceed it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from clearing.domain.forecast.model import DailyFlow, FlowPaths, Matrix, simulate_flows, stable_seed

SHORTFALL_ALERT = 0.10
TOPUP_TARGET = 0.05


@dataclass(frozen=True, slots=True)
class ForecastDay:
    day: date
    inflow_p50: int
    outflow_p50: int
    net_p05: int
    net_p50: int
    net_p95: int
    #: The seasonal-naive baseline (same weekday last week), computed beside every forecast.
    naive_net: int
    #: Projected balance quantiles; None without a balance.
    balance_p05: int | None
    balance_p50: int | None
    #: P(balance below zero on or before this day); 0.0 without a balance.
    shortfall_probability: float


@dataclass(frozen=True, slots=True)
class TopUp:
    amount: int
    #: Deposit by the end of this day (the day before the shortfall probability would pass 5%).
    by: date


@dataclass(frozen=True)
class MemberForecast:
    member: str
    start: date
    days: tuple[ForecastDay, ...]
    shortfall_date: date | None
    topup: TopUp | None
    model: str
    #: (paths, horizon) simulated daily net flows, for pooling across members; not stored.
    paths: Matrix


def forecast_member(
    member: str,
    history: Sequence[DailyFlow],
    *,
    horizon: int = 14,
    events: Mapping[date, frozenset[str]] | None = None,
    balance: int | None = None,
    seed: int | None = None,
    n_paths: int = 2000,
) -> MemberForecast:
    """The member's next ``horizon`` days, starting the day after its history ends."""
    flows = simulate_flows(
        history, horizon=horizon, events=events, n_paths=n_paths, seed=stable_seed(member) if seed is None else seed
    )
    return project(member, flows, balance)


def project(member: str, flows: FlowPaths, balance: int | None) -> MemberForecast:
    net = flows.net
    q_net = np.quantile(net, [0.05, 0.5, 0.95], axis=0)
    q_in = np.median(flows.inflow, axis=0)
    q_out = np.median(flows.outflow, axis=0)
    horizon = net.shape[1]
    days_of = [flows.start + timedelta(k) for k in range(horizon)]
    prob = np.zeros(horizon)
    q_bal: list[list[int | None]] = [[None] * horizon, [None] * horizon]
    shortfall_date = None
    topup = None
    if balance is not None:
        balances = balance + np.cumsum(net, axis=1)
        running_min = np.minimum.accumulate(balances, axis=1)
        prob = (running_min < 0).mean(axis=0)
        q = np.quantile(balances, [0.05, 0.5], axis=0)
        q_bal = [[_round(v) for v in q[0]], [_round(v) for v in q[1]]]
        shortfall_date = next((d for d, p in zip(days_of, prob, strict=True) if p >= SHORTFALL_ALERT), None)
        topup = _topup(running_min[:, -1], prob, days_of)
    days = tuple(
        ForecastDay(
            day=days_of[k],
            inflow_p50=_round(q_in[k]),
            outflow_p50=_round(q_out[k]),
            net_p05=_round(q_net[0][k]),
            net_p50=_round(q_net[1][k]),
            net_p95=_round(q_net[2][k]),
            naive_net=flows.naive_net[k],
            balance_p05=q_bal[0][k],
            balance_p50=q_bal[1][k],
            shortfall_probability=round(float(prob[k]), 4),
        )
        for k in range(horizon)
    )
    return MemberForecast(member, flows.start, days, shortfall_date, topup, flows.model, net)


def _topup(lowest: Matrix, prob: Matrix, days: list[date]) -> TopUp | None:
    """The amount covering the lowest balance on all but ``TOPUP_TARGET`` of the paths, and when it is due."""
    need = math.ceil(float(np.quantile(np.maximum(-lowest, 0.0), 1.0 - TOPUP_TARGET)))
    if need <= 0:
        return None
    first = next((k for k, p in enumerate(prob) if p > TOPUP_TARGET), len(days) - 1)
    return TopUp(amount=need, by=days[first] - timedelta(1))


def _round(x: float) -> int:
    return int(math.floor(float(x) + 0.5))
