"""``clearing bench simulate``: the simulator's cost at three sizes, next to a bare numpy pass over the same orders.

Each size is ``platforms`` platforms over a number of days (the largest is the issue's 50 × 365); each
phase is timed on its own (generating the demand, the prepaid model, the clearing-house model, which
calls the domain code per order and per cycle). The baseline, measured in the same run on the same
orders, is the least any day-by-day pass must do: per day, each pair's spend (``np.add.at``) and each
platform's net position (``np.bincount``). Cost is linear in orders when seconds per million orders stay
flat across the sizes: ``linearity`` is the largest size's per-order cost over the smallest's.
"""

from __future__ import annotations

import platform
import time
from typing import Any

import numpy as np

from clearing.domain.simulation import Scenario, generate
from clearing.domain.simulation.demand import Demand
from clearing.domain.simulation.house import run_clearing
from clearing.domain.simulation.prepaid import run_prepaid
from clearing.progress import Progress

__all__ = ["run", "baseline_pass"]


def baseline_pass(demand: Demand, n: int) -> int:
    """Per day, each pair's spend and each platform's net position, in numpy: the floor of a daily pass."""
    checksum = 0
    for d in range(len(demand.day_start) - 1):
        lo, hi = int(demand.day_start[d]), int(demand.day_start[d + 1])
        b, s, a = demand.buyer[lo:hi], demand.seller[lo:hi], demand.amount[lo:hi]
        spend = np.zeros((n, n), dtype=np.int64)
        np.add.at(spend, (b, s), a)
        net = np.bincount(s, weights=a, minlength=n) - np.bincount(b, weights=a, minlength=n)
        checksum += int(spend.max(initial=0)) + int(abs(net).max(initial=0))
    return checksum


def _size(platforms: int, days: int, seed: int, say: Progress) -> dict[str, Any]:
    scenario = Scenario()
    t0 = time.perf_counter()
    world, demand = generate(scenario, platforms=platforms, days=days, seed=seed)
    t1 = time.perf_counter()
    run_prepaid(world, demand, scenario)
    t2 = time.perf_counter()
    run_clearing(world, demand, scenario)
    t3 = time.perf_counter()
    baseline_pass(demand, platforms)
    t4 = time.perf_counter()
    total = t3 - t0
    orders = demand.orders
    say(f"{platforms} × {days}: {orders} orders in {total:.1f} s ({orders / total:,.0f} orders/s)")
    return {
        "platforms": platforms,
        "days": days,
        "orders": orders,
        "seconds": round(total, 3),
        "orders_per_second": round(orders / total),
        "seconds_per_million_orders": round(total / orders * 1e6, 3),
        "phases_s": {"generate": round(t1 - t0, 3), "prepaid": round(t2 - t1, 3), "clearing": round(t3 - t2, 3)},
        "baseline_s": round(t4 - t3, 6),
        "ratio_to_baseline": round(total / (t4 - t3), 1),
    }


def run(*, platforms: int, days: tuple[int, ...], seed: int, limit_s: float) -> dict[str, Any]:
    """Time the simulator at each of ``days`` (ascending) for ``platforms`` platforms."""
    say = Progress("bench simulate")
    sizes = [_size(platforms, d, seed, say) for d in days]
    small, big = sizes[0], sizes[-1]
    return {
        "bench": "simulate",
        "machine": {"python": platform.python_version(), "processor": platform.machine()},
        "seed": seed,
        "baseline": "per day: np.add.at of each pair's spend + np.bincount net positions, same orders",
        "sizes": sizes,
        "linearity": round(big["seconds_per_million_orders"] / small["seconds_per_million_orders"], 3),
        "target": {
            "orders_at_least": 1_000_000,
            "within_s": limit_s,
            "met": big["orders"] >= 1_000_000 and big["seconds"] <= limit_s,
        },
    }
