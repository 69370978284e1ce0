"""An operator's what-if: the two largest exposures default now, then the next days run at a multiple of
the forecast demand. Does the pool still cover what the survivors will draw, and who runs short?

Starts from Cover 2 (:mod:`clearing.domain.cover2`): the two members with the largest exposure default
together and the pool loses their exposure (its equity falls by the Cover 2 loss). For every other
member, each forecast path of daily net flow (receipts − payments, token units) is multiplied by
``demand``: receipts and payments both scale with trade, so the net does too. Its balance then runs
from ``collateral − drawn − in_flight_net_debit`` (what it would have once the open cycle settles)
along each path:

- below zero it draws credit, up to its line: the pool lends that;
- below ``−line`` it is short: its orders would queue beyond headroom. Its ``shortfall_probability`` is
  the share of paths on which that happens within the horizon; ``topup_95`` is the deposit that would
  avoid it on 95% of paths (as the forecast's own top-up advice, ``clearing.domain.forecast``).

The pool's need each day is the 95th percentile over paths of everyone's credit drawn that day; the
answer compares its peak with the pool left after the loss. ``cover2_after`` is Cover 2 among the
survivors at the end of the horizon on their 95th-percentile credit drawn.

The defaulters' own trade with the survivors is not removed from the survivors' paths (the forecasts are
per member, not per pair): with ``demand`` ≥ 1 that is the lesser stress. Pure: ints and numpy arrays in.

>>> import numpy as np
>>> big = StressMember("big", drawn=900, in_flight_net_debit=0, collateral=0, credit_line=1_000,
...                    net_paths=np.zeros((4, 3)))
>>> thin = StressMember("thin", drawn=0, in_flight_net_debit=0, collateral=100, credit_line=50,
...                     net_paths=np.array([[-100.0, -10.0, 0.0]] * 3 + [[0.0, 0.0, 0.0]]))
>>> r = stress([big, thin], resources=2_000, demand=2.0)
>>> r.defaulted, r.loss, r.pool_after
(('big',), 900, 1100)
>>> s = r.members[0]
>>> s.name, s.shortfall_probability, s.topup_95, r.pool_need_95, r.pool_covers
('thin', 0.75, 70, 50, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from clearing.domain.cover2 import Cover2, MemberExposure, assess
from clearing.errors import ValidationError

__all__ = ["StressMember", "MemberStress", "StressResult", "stress"]

Matrix = npt.NDArray[np.float64]


@dataclass(frozen=True)
class StressMember:
    """One member now (token units, all ≥ 0) and its forecast: ``net_paths`` is (paths, horizon) daily net."""

    name: str
    drawn: int
    in_flight_net_debit: int
    collateral: int
    credit_line: int
    net_paths: Matrix


@dataclass(frozen=True, slots=True)
class MemberStress:
    name: str
    #: Share of paths on which the member goes past its line within the horizon.
    shortfall_probability: float
    #: First day (1-based) on which that share passes 10% (None: never within the horizon).
    shortfall_day: int | None
    #: The deposit that keeps it within its line on 95% of the paths.
    topup_95: int
    #: Its credit drawn at the end of the horizon, median and 95th percentile.
    drawn_end_p50: int
    drawn_end_p95: int


@dataclass(frozen=True)
class StressResult:
    demand: float
    horizon: int
    cover2_now: Cover2
    defaulted: tuple[str, ...]
    #: The Cover 2 loss the pool takes, and what is left of its equity.
    loss: int
    pool_after: int
    #: Per day, the 95th percentile over paths of the survivors' total credit drawn; its peak.
    pool_need_by_day: tuple[int, ...]
    pool_need_95: int
    pool_covers: bool
    #: Survivors, the most likely to run short first.
    members: tuple[MemberStress, ...]
    cover2_after: Cover2


def _check(m: StressMember, horizon: int | None) -> int:
    for field in ("drawn", "in_flight_net_debit", "collateral", "credit_line"):
        value = getattr(m, field)
        if type(value) is not int or value < 0:
            raise ValidationError(f"{m.name}: {field} must be an integer ≥ 0, got {value!r}", field=field)
    paths = np.asarray(m.net_paths, dtype=np.float64)
    if paths.ndim != 2 or paths.shape[0] < 1 or paths.shape[1] < 1:
        raise ValidationError(f"{m.name}: net_paths must be a (paths, horizon) array", field="net_paths")
    if horizon is not None and paths.shape[1] != horizon:
        raise ValidationError(f"{m.name}: every member's forecast needs the same horizon", field="net_paths")
    return int(paths.shape[1])


def _member(m: StressMember, demand: float) -> tuple[MemberStress, Matrix]:
    start = m.collateral - m.drawn - m.in_flight_net_debit
    balance = start + np.cumsum(np.asarray(m.net_paths, dtype=np.float64) * demand, axis=1)
    drawn = np.clip(-balance, 0.0, float(m.credit_line))
    past = np.minimum.accumulate(balance + m.credit_line, axis=1)  # room left under the line, running low
    prob = (past < 0).mean(axis=0)
    day = next((k + 1 for k, p in enumerate(prob) if p >= 0.10), None)
    need = math.ceil(float(np.quantile(np.maximum(-past[:, -1], 0.0), 0.95)))
    end = drawn[:, -1]
    out = MemberStress(
        name=m.name,
        shortfall_probability=round(float(prob[-1]), 4),
        shortfall_day=day,
        topup_95=max(0, need),
        drawn_end_p50=int(round(float(np.median(end)))),
        drawn_end_p95=int(round(float(np.quantile(end, 0.95)))),
    )
    return out, drawn


def stress(
    members: list[StressMember], resources: int, *, demand: float = 2.0, horizon: int | None = None
) -> StressResult:
    """The what-if over ``members`` (each with a forecast of ``horizon`` days; default: their common one)
    against the pool's equity."""
    if type(resources) is not int or resources < 0:
        raise ValidationError(f"resources must be an integer ≥ 0, got {resources!r}", field="resources")
    if not isinstance(demand, (int, float)) or isinstance(demand, bool) or not 0 < demand <= 100:
        raise ValidationError(f"demand must be a number in (0, 100], got {demand!r}", field="demand")
    for m in members:
        horizon = _check(m, horizon)
    now = assess([MemberExposure(m.name, m.drawn, m.in_flight_net_debit, m.collateral) for m in members], resources)
    gone = {e.name for e in now.members}
    pool_after = resources - now.loss
    survivors = [m for m in members if m.name not in gone]
    results, drawn = [], []
    for m in survivors:
        r, d = _member(m, float(demand))
        results.append(r)
        drawn.append(d)
    h = horizon or 0
    if drawn:
        paths = min(d.shape[0] for d in drawn)
        total = np.sum([d[:paths] for d in drawn], axis=0)
        need = tuple(int(round(float(v))) for v in np.quantile(total, 0.95, axis=0))
    else:
        need = (0,) * h
    peak = max(need, default=0)
    after = assess(
        [MemberExposure(r.name, r.drawn_end_p95, 0, 0) for r in results if r.drawn_end_p95 > 0], max(0, pool_after)
    )
    results.sort(key=lambda r: (-r.shortfall_probability, -r.topup_95, r.name))
    return StressResult(
        demand=float(demand),
        horizon=h,
        cover2_now=now,
        defaulted=tuple(e.name for e in now.members),
        loss=now.loss,
        pool_after=pool_after,
        pool_need_by_day=need,
        pool_need_95=peak,
        pool_covers=peak <= pool_after,
        members=tuple(results),
        cover2_after=after,
    )
