"""``clearing bench forecast``: accuracy against seasonal naive on generated histories, and speed at scale.

The generator is deliberately not the model: flows are lognormal around a
level with weekday shape, growth, a monthly payday (inflow up) and a yearly
sale (both up) that recurs inside the held-out days; a quarter of the members
are given a balance that truly runs short. Accuracy is a rolling-origin
evaluation over the last ``horizon`` days (every origin in the window
forecasts the rest of it); the baseline is seasonal naive (same weekday last
week), computed beside every forecast.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np

from clearing.domain.forecast import MODEL_NAME, MODEL_VERSION, DailyFlow, forecast_member
from clearing.progress import Progress

_progress = Progress("bench forecast")
SALE = "summer-sale"
PAYDAY = "payday"


@dataclass(frozen=True)
class Instance:
    history: dict[str, list[DailyFlow]]
    held_out: dict[str, list[DailyFlow]]
    events: dict[date, frozenset[str]]
    balances: dict[str, int]
    #: The first held-out day each member's balance truly goes below zero, or None.
    short: dict[str, date | None]


def generate(members: int, days: int, horizon: int, seed: int) -> Instance:
    rng = random.Random(seed)
    start = date(2025, 7, 1)
    total = days + horizon
    end = start + timedelta(total - 1)
    sale = end - timedelta(rng.randrange(1, horizon - 1))  # inside the held-out days, a year after the last one
    events: dict[date, set[str]] = {}
    for k in range(total + 31):
        d = start + timedelta(k)
        if d.day == 25:
            events.setdefault(d, set()).add(PAYDAY)
        if (d.month, d.day) == (sale.month, sale.day):
            events.setdefault(d, set()).add(SALE)
    history, held_out, balances, short = {}, {}, {}, {}
    for i in range(members):
        name = f"m{i:05d}"
        level = math.exp(rng.uniform(math.log(1e5), math.log(1e9)))
        ratio, sigma, growth = rng.uniform(0.85, 1.3), rng.uniform(0.05, 0.25), rng.uniform(-0.001, 0.002)
        w_in = [rng.uniform(0.7, 1.1) for _ in range(5)] + [rng.uniform(1.1, 1.7) for _ in range(2)]
        w_out = [rng.uniform(0.9, 1.3) for _ in range(5)] + [rng.uniform(0.5, 0.9) for _ in range(2)]
        up_in, up_out, pay = rng.uniform(1.5, 4.0), rng.uniform(1.5, 5.0), rng.uniform(1.1, 1.8)
        flows, means, scale = [], [], []
        for k in range(total):
            d = start + timedelta(k)
            a = level * math.exp(growth * k) * w_in[d.weekday()]
            b = level * math.exp(growth * k) * ratio * w_out[d.weekday()]
            names = events.get(d, set())
            if SALE in names:
                a, b = a * up_in, b * up_out
            if PAYDAY in names:
                a *= pay
            means.append(a - b)
            scale.append(a * a + b * b)
            flows.append(DailyFlow(d, int(a * math.exp(rng.gauss(0, sigma))), int(b * math.exp(rng.gauss(0, sigma)))))
        history[name], held_out[name] = flows[:days], flows[days:]
        low = min(np.cumsum(means[days:]).min(), 0.0)
        spread = sigma * math.sqrt(sum(scale[days:]))  # about one standard deviation of the held-out total
        short_one = i % 4 == 0 and low < -1.5 * spread
        balances[name] = int(-low * rng.uniform(0.1, 0.5)) if short_one else int(-low + rng.uniform(3, 4.5) * spread)
        bal, first = balances[name], None
        for f in held_out[name]:
            bal += f.inflow - f.outflow
            if bal < 0 and first is None:
                first = f.day
        short[name] = first
    return Instance(history, held_out, {d: frozenset(n) for d, n in events.items()}, balances, short)


def accuracy(inst: Instance, horizon: int) -> dict[str, Any]:
    """Rolling-origin MAE ratio to seasonal naive, band coverage, and shortfall recall/precision."""
    ratios, inside, total, tp, fp, fn = [], 0, 0, 0, 0, 0
    for n, (member, hist) in enumerate(inst.history.items()):
        future = inst.held_out[member]
        model_err = naive_err = 0.0
        for origin in range(horizon):
            known = hist + future[:origin]
            f = forecast_member(member, known, horizon=horizon - origin, events=inst.events)
            for d, actual in zip(f.days, future[origin:], strict=True):
                y = actual.inflow - actual.outflow
                model_err += abs(d.net_p50 - y)
                naive_err += abs(d.naive_net - y)
                if origin == 0:
                    inside += d.net_p05 <= y <= d.net_p95
                    total += 1
        ratios.append(model_err / max(naive_err, 1.0))
        flag = forecast_member(member, hist, horizon=horizon, events=inst.events, balance=inst.balances[member])
        truth = inst.short[member]
        if truth is not None and flag.shortfall_date is not None and flag.shortfall_date <= truth:
            tp += 1
        elif truth is not None:
            fn += 1
        elif flag.shortfall_date is not None:
            fp += 1
        if (n + 1) % 100 == 0:
            _progress(f"accuracy: {n + 1}/{len(inst.history)} members")
    return {
        "mae_ratio_to_seasonal_naive": round(math.exp(float(np.mean(np.log(np.maximum(ratios, 1e-9))))), 4),
        "band_p05_p95_coverage": round(inside / max(total, 1), 4),
        "shortfall_recall": round(tp / max(tp + fn, 1), 4),
        "shortfall_precision": round(tp / max(tp + fp, 1), 4),
        "members_short": tp + fn,
    }


def speed(inst: Instance, horizon: int) -> dict[str, Any]:
    """Fit-and-predict for every member, and the bare least-squares fit alone as the in-run baseline."""
    forecast_member("warm", next(iter(inst.history.values())), horizon=horizon, events=inst.events)
    t0 = time.perf_counter()
    for hist in inst.history.values():
        n = len(hist)
        x = np.column_stack([np.ones(n), np.arange(n) / 365.0, *(np.arange(n) % 7 == k for k in range(6))])
        y = np.log1p(np.array([[f.inflow, f.outflow] for f in hist], dtype=float))
        np.linalg.lstsq(x, y, rcond=None)
    bare = time.perf_counter() - t0
    t0 = time.perf_counter()
    for i, (member, hist) in enumerate(inst.history.items()):
        forecast_member(member, hist, horizon=horizon, events=inst.events, balance=inst.balances[member])
        if (i + 1) % 2000 == 0:
            _progress(f"speed: {i + 1}/{len(inst.history)} members")
    full = time.perf_counter() - t0
    return {
        "members": len(inst.history),
        "seconds": round(full, 2),
        "ms_per_member": round(1000 * full / len(inst.history), 3),
        "baseline_bare_lstsq_seconds": round(bare, 2),
        "ratio_to_bare_lstsq": round(full / bare, 2),
        "projected_10000_members_seconds": round(full / len(inst.history) * 10_000, 1),
    }


def run(*, members: int, days: int, horizon: int, seed: int, speed_members: int) -> dict[str, Any]:
    with _progress.step(f"generating {members} members x {days} days"):
        inst = generate(members, days, horizon, seed)
    with _progress.step("rolling-origin accuracy"):
        acc = accuracy(inst, horizon)
    out: dict[str, Any] = {
        "model": {"name": MODEL_NAME, "version": MODEL_VERSION},
        "seed": seed,
        "members": members,
        "history_days": days,
        "horizon": horizon,
        "accuracy": acc,
        "targets": {"mae_ratio_max": 0.8, "coverage": [0.8, 0.97], "recall_min": 0.9, "precision_min": 0.6},
    }
    out["accuracy_met"] = (
        acc["mae_ratio_to_seasonal_naive"] <= 0.8
        and 0.8 <= acc["band_p05_p95_coverage"] <= 0.97
        and acc["shortfall_recall"] >= 0.9
        and acc["shortfall_precision"] >= 0.6
    )
    if speed_members:
        with _progress.step(f"generating {speed_members} members for speed"):
            big = generate(speed_members, days, horizon, seed + 1)
        with _progress.step("fit and predict every member"):
            out["speed"] = speed(big, horizon)
    return out
