"""What a model run leaves behind, and the metrics both models report the same way.

Each order ends either completed or interrupted (``status``), so the metrics of both models are
computed from the same arrays by the same code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from clearing.domain.simulation.demand import Demand, World

__all__ = ["COMPLETED", "INTERRUPTED", "Outcome", "summarize"]

COMPLETED, INTERRUPTED = 0, 1
Ints = npt.NDArray[np.int64]


@dataclass
class Outcome:
    """One model's run: per order, per day and per platform (money in units, ints)."""

    #: Per order: :data:`COMPLETED` or :data:`INTERRUPTED`.
    status: npt.NDArray[np.int8]
    #: Capital locked at the end of each day.
    capital_locked: Ints
    #: (days, platforms): each platform's balance at the end of each day (prepaid: the sum of its
    #: balances at sellers; clearing house: its signed balance in the house).
    balance_path: Ints
    topups_count: int = 0
    topups_value: int = 0
    withdrawals_value: int = 0
    credit_drawn: int = 0
    credit_repaid: int = 0
    #: Default losses: who bore them → amount.
    default_losses: dict[str, int] = field(default_factory=dict)
    #: Gross value of settled obligations, and what netting and set-off cleared without cash.
    settled_value: int = 0
    netted_value: int = 0
    setoff_value: int = 0
    #: Model-specific extras (plain JSON-able values) and series for the plots.
    extra: dict[str, Any] = field(default_factory=dict)
    series: dict[str, Any] = field(default_factory=dict)


def summarize(world: World, demand: Demand, out: Outcome) -> dict[str, Any]:
    """The report's block for one model (ints for money; ratios as floats rounded to 4 places)."""
    every = out.status == INTERRUPTED
    # Orders a platform places after it has stopped paying cannot be funded in any model: they are reported
    # apart, and the interruptions the models are compared on are those of platforms still paying.
    stop = world.stop_paying_day[demand.buyer]
    unfunded = (stop >= 0) & (demand.day >= stop)
    bad = every & ~unfunded
    per_day_platform = np.zeros((world.days, world.n), dtype=bool)
    per_day_platform[demand.day[bad], demand.buyer[bad]] = True
    days_hit = per_day_platform.sum(axis=0)
    locked = out.capital_locked
    gross = max(1, out.settled_value)
    return {
        "orders_interrupted": int(bad.sum()),
        "value_interrupted": int(demand.amount[bad].sum()),
        "orders_completed": int((~every).sum()),
        "value_completed": int(demand.amount[~every].sum()),
        "orders_interrupted_all": int(every.sum()),
        "value_interrupted_all": int(demand.amount[every].sum()),
        "orders_of_buyers_not_paying": {
            "orders": int(unfunded.sum()),
            "value": int(demand.amount[unfunded].sum()),
            "interrupted": int((every & unfunded).sum()),
            "value_interrupted": int(demand.amount[every & unfunded].sum()),
        },
        "interruption_days": {
            "per_platform": {name: int(k) for name, k in zip(world.names, days_hit, strict=True)},
            "mean": round(float(days_hit.mean()), 2),
            "max": int(days_hit.max(initial=0)),
            "platforms_hit": int((days_hit > 0).sum()),
        },
        "capital_locked_mean": int(locked.sum() // max(1, len(locked))),
        "capital_locked_peak": int(locked.max(initial=0)),
        "topups": {"count": out.topups_count, "value": out.topups_value, "withdrawn": out.withdrawals_value},
        "credit": {"drawn": out.credit_drawn, "repaid": out.credit_repaid},
        "default_losses": {
            "total": int(sum(out.default_losses.values())),
            "borne_by": dict(sorted(out.default_losses.items())),
        },
        "cleared_without_cash": {
            "gross_settled": out.settled_value,
            "netting": out.netted_value,
            "setoff": out.setoff_value,
            "netting_share": round(out.netted_value / gross, 4),
            "setoff_share": round(out.setoff_value / gross, 4),
        },
        **out.extra,
    }
