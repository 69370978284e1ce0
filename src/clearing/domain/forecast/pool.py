"""The pool's next days: how much credit members will draw, what that needs at 95%, and what sits idle.

A member draws credit when its projected balance goes below zero, up to its
line (beyond the line is a shortfall, not the pool's). Members' paths are
simulated independently, so adding them path by path gives the pool's total;
the liquidity needed is the 95th percentile of the highest total over the
horizon.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from clearing.domain.forecast.projection import MemberForecast

NEEDED_QUANTILE = 0.95


@dataclass(frozen=True)
class PoolMember:
    forecast: MemberForecast
    #: The member's balance now (negative: credit drawn).
    balance: int
    credit_line: int


@dataclass(frozen=True, slots=True)
class PoolDay:
    day: date
    drawn_p50: int
    drawn_p95: int
    utilisation_p50_bps: int
    utilisation_p95_bps: int


@dataclass(frozen=True)
class PoolForecast:
    days: tuple[PoolDay, ...]
    liquidity: int
    #: Liquidity the pool needs over the horizon at 95%.
    needed_95: int
    #: Liquidity beyond that need (0 when short).
    idle: int


def pool_forecast(members: Sequence[PoolMember], *, liquidity: int) -> PoolForecast:
    """The pool's drawn credit per day (p50/p95), its need at 95% over the horizon and its idle liquidity.

    >>> pool_forecast([], liquidity=100)
    PoolForecast(days=(), liquidity=100, needed_95=0, idle=100)
    """
    if not members:
        return PoolForecast((), liquidity, 0, max(liquidity, 0))
    paths = min(m.forecast.paths.shape[0] for m in members)
    horizon = min(m.forecast.paths.shape[1] for m in members)
    total = np.zeros((paths, horizon))
    for m in members:
        balances = m.balance + np.cumsum(m.forecast.paths[:paths, :horizon], axis=1)
        total += np.clip(-balances, 0.0, float(max(m.credit_line, 0)))
    q = np.quantile(total, [0.5, NEEDED_QUANTILE], axis=0)
    needed = math.ceil(float(np.quantile(total.max(axis=1), NEEDED_QUANTILE)))
    start = members[0].forecast.start
    days = tuple(
        PoolDay(
            day=start + timedelta(k),
            drawn_p50=math.ceil(float(q[0][k])),
            drawn_p95=math.ceil(float(q[1][k])),
            utilisation_p50_bps=_bps(float(q[0][k]), liquidity),
            utilisation_p95_bps=_bps(float(q[1][k]), liquidity),
        )
        for k in range(horizon)
    )
    return PoolForecast(days, liquidity, needed, max(liquidity - needed, 0))


def _bps(drawn: float, liquidity: int) -> int:
    if liquidity <= 0:
        return 0 if drawn <= 0 else 10_000
    return math.ceil(10_000 * drawn / liquidity)
