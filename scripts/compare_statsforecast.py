"""Compare the house's forecast model with statsforecast's models on the bench's generated instance.

Not part of the service: statsforecast (with pandas and numba) stays out of the main environment. Run it from
an environment that has both, e.g.:

    python3 -m venv /tmp/sf && /tmp/sf/bin/pip install statsforecast==2.1.1 numba
    PYTHONPATH=src /tmp/sf/bin/python scripts/compare_statsforecast.py --members 80 --seed 2026

It forecasts net flow 14 days ahead from the held-out origin (one origin, no rolling) with each model and prints
MAE relative to seasonal naive (geometric mean over members), p05–p95 band coverage, and seconds per series
(the JIT compile of the first call is left out).
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np
import pandas as pd
from statsforecast import StatsForecast
from statsforecast.models import MSTL, AutoARIMA, AutoETS, AutoTheta, SeasonalNaive

from clearing.bench.forecast import generate
from clearing.domain.forecast import forecast_member


def frame(inst, members):
    rows = [(m, f.day, f.inflow - f.outflow) for m in members for f in inst.history[m]]
    df = pd.DataFrame(rows, columns=["unique_id", "ds", "y"])
    df["ds"] = pd.to_datetime(df["ds"])
    return df


def exog(inst, members, days):
    names = sorted({n for v in inst.events.values() for n in v})
    out = []
    for m in members:
        for d in days(m):
            out.append([m, d, *(1.0 if n in inst.events.get(d, ()) else 0.0 for n in names)])
    df = pd.DataFrame(out, columns=["unique_id", "ds", *names])
    df["ds"] = pd.to_datetime(df["ds"])
    return df


def score(pred, inst, members, horizon):
    ratios, inside, total = [], 0, 0
    for m in members:
        y = np.array([f.inflow - f.outflow for f in inst.held_out[m]], dtype=float)
        hist = [f.inflow - f.outflow for f in inst.history[m]]
        naive = np.array([hist[len(hist) - 7 + k % 7] for k in range(horizon)], dtype=float)
        p50, lo, hi = pred[m]
        ratios.append(np.abs(p50 - y).sum() / max(np.abs(naive - y).sum(), 1.0))
        inside += int(((lo <= y) & (y <= hi)).sum())
        total += horizon
    return round(math.exp(float(np.mean(np.log(np.maximum(ratios, 1e-9))))), 4), round(inside / total, 4)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=80)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--horizon", type=int, default=14)
    args = ap.parse_args()
    inst = generate(args.members, 365, args.horizon, args.seed)
    members = list(inst.history)
    h = args.horizon
    df = frame(inst, members)
    out = {}
    t0 = time.perf_counter()
    pred = {}
    for m in members:
        f = forecast_member(m, inst.history[m], horizon=h, events=inst.events)
        pred[m] = tuple(
            np.array([getattr(d, k) for d in f.days], dtype=float) for k in ("net_p50", "net_p05", "net_p95")
        )
    out["house loglinear-events"] = {
        "mae_ratio": score(pred, inst, members, h)[0],
        "coverage": score(pred, inst, members, h)[1],
        "s_per_member": round((time.perf_counter() - t0) / len(members), 4),
    }
    models = {
        "SeasonalNaive": SeasonalNaive(7),
        "AutoETS": AutoETS(season_length=7),
        "MSTL": MSTL(season_length=[7]),
        "AutoTheta": AutoTheta(season_length=7),
    }
    for name, model in models.items():
        StatsForecast([model], freq="D").forecast(h=h, df=df[df.unique_id == members[0]], level=[90])  # JIT warm-up
        t0 = time.perf_counter()
        fc = StatsForecast([model], freq="D").forecast(h=h, df=df, level=[90])
        secs = time.perf_counter() - t0
        col = fc.columns[2]
        pred = {
            m: (g[col].to_numpy(), g[f"{col}-lo-90"].to_numpy(), g[f"{col}-hi-90"].to_numpy())
            for m, g in fc.groupby("unique_id")
        }
        mae, cov = score(pred, inst, members, h)
        out[name] = {"mae_ratio": mae, "coverage": cov, "s_per_member": round(secs / len(members), 4)}
    # AutoARIMA with the calendar as exogenous regressors: the one statsforecast model that learns event uplifts.
    last = inst.history[members[0]][-1].day
    x_hist = exog(inst, members, lambda m: [f.day for f in inst.history[m]])
    x_future = exog(inst, members, lambda m: [f.day for f in inst.held_out[m]])
    dfx = df.merge(x_hist, on=["unique_id", "ds"])
    sub = members[: max(5, len(members) // 8)]
    StatsForecast([AutoARIMA(season_length=7)], freq="D").forecast(
        h=h, df=dfx[dfx.unique_id == sub[0]], X_df=x_future[x_future.unique_id == sub[0]], level=[90]
    )
    t0 = time.perf_counter()
    fc = StatsForecast([AutoARIMA(season_length=7)], freq="D").forecast(
        h=h, df=dfx[dfx.unique_id.isin(sub)], X_df=x_future[x_future.unique_id.isin(sub)], level=[90]
    )
    secs = time.perf_counter() - t0
    pred = {
        m: (g["AutoARIMA"].to_numpy(), g["AutoARIMA-lo-90"].to_numpy(), g["AutoARIMA-hi-90"].to_numpy())
        for m, g in fc.groupby("unique_id")
    }
    mae, cov = score(pred, inst, sub, h)
    out["AutoARIMA + calendar (subset)"] = {
        "members": len(sub),
        "mae_ratio": mae,
        "coverage": cov,
        "s_per_member": round(secs / len(sub), 4),
    }
    print(
        json.dumps(
            {"seed": args.seed, "members": len(members), "history_end": last.isoformat(), "models": out}, indent=2
        )
    )


if __name__ == "__main__":
    main()
