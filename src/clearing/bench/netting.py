"""Netting and liquidity-saving benchmarks, each next to a baseline run in the same process.

- Multilateral netting of ``n_obligations`` among ``n_members`` with
  :func:`clearing.domain.netting.net_positions_array` (exact int64) against a
  bare ``numpy.bincount`` over the same arrays (float64 weights — exact here
  only because the sums stay below 2^53). Target: within 2x.
- Liquidity-saving settlement of ``liq_obligations`` among ``liq_members``
  with available liquidity = ``liquidity_pct``% of each member's gross
  debit: :func:`clearing.domain.liquidity.select_settlement` against Ubin's
  queue-deactivation heuristic, both as a fraction of the optimum proven by
  a long HiGHS MILP run (its dual bound; the fraction is a lower bound on
  the true one). Targets: ≥ 99% of the optimum in ≤ 2 s.

- ``--scale`` (:func:`scale_case`, issue 15): ``clearing net`` end to end in
  a fresh process (start-up, CSV parsing, solving, JSON out) on 10,000,
  100,000 and 1,000,000 obligations among 400 members with 3% of gross
  debit, against one bare HiGHS solve of the obligation-level LP relaxation
  (model passed in before the clock starts); the settled value over the LP
  bound after an exact re-check of the output; peak RSS. Targets: ≤ 3x the
  LP, ≥ 99.9% of its bound.

The liquidity instance is deliberately skewed: members differ in size
(lognormal activity weights, drawn separately for paying and receiving, so
some platforms are structural net buyers) and amounts are heavy-tailed
(lognormal, σ = 1.5). With uniform random pairs nearly everything nets out
and 20% liquidity settles ~99.9% of value for any method; ``scenario=
"uniform"`` runs that easy case for comparison.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from clearing.domain.liquidity import select_settlement, ubin_deactivation
from clearing.domain.netting import net_positions_array
from clearing.domain.types import Obligation
from clearing.progress import Progress

__all__ = ["run", "netting_case", "liquidity_case", "liquidity_instance", "liquidity_arrays", "scale_case", "bare_lp"]


def _best_of(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def netting_case(n_obligations: int, n_members: int, seed: int, repeats: int = 7) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    d = rng.integers(0, n_members, n_obligations)
    c = (d + rng.integers(1, n_members, n_obligations)) % n_members  # never the debtor
    a = rng.integers(1, 10**9, n_obligations)  # up to 1,000 tokens of 6 decimals

    def baseline() -> np.ndarray:
        return np.bincount(c, weights=a, minlength=n_members) - np.bincount(d, weights=a, minlength=n_members)

    def ours() -> np.ndarray:
        return net_positions_array(d, c, a, n_members)

    baseline(), ours()  # warm up
    t_base, ref = _best_of(baseline, repeats)
    t_ours, got = _best_of(ours, repeats)
    big = a.astype(object) * 10**60  # the same amounts at uint256 scale: the exact limb path
    t_big, got_big = _best_of(lambda: net_positions_array(d, c, big, n_members), 1)
    return {
        "obligations": n_obligations,
        "members": n_members,
        "net_positions_array_s": round(t_ours, 6),
        "baseline_numpy_bincount_s": round(t_base, 6),
        "ratio_to_baseline": round(t_ours / t_base, 3),
        "target_ratio": 2.0,
        "meets_target": t_ours <= 2.0 * t_base,
        "exact_and_equal_to_baseline": bool(np.array_equal(got, ref.astype(np.int64))),
        "sum_of_positions": int(got.sum()),
        "uint256_scale_amounts_s": round(t_big, 4),
        "uint256_scale_exact": [int(x) for x in got_big.tolist()] == [int(x) * 10**60 for x in got.tolist()],
    }


def liquidity_arrays(
    n_obligations: int, n_members: int, liquidity_pct: int, seed: int, scenario: str = "skewed"
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The benchmark instance as arrays: debtor and creditor indices, amounts, each member's available.

    Deterministic in ``seed``; available = ``liquidity_pct``% of each member's gross debit.
    """
    rng = np.random.default_rng(seed)
    if scenario == "uniform":
        d = rng.integers(0, n_members, n_obligations)
        c = (d + rng.integers(1, n_members, n_obligations)) % n_members
        a = rng.integers(1, 10**9, n_obligations)
    elif scenario == "skewed":
        pay = rng.lognormal(0.0, 1.0, n_members)
        recv = rng.lognormal(0.0, 1.0, n_members)
        d = rng.choice(n_members, n_obligations, p=pay / pay.sum())
        # creditor by receiving weight, never the debtor: draw, then redraw the clashes
        c = rng.choice(n_members, n_obligations, p=recv / recv.sum())
        while (clash := np.flatnonzero(c == d)).size:
            c[clash] = rng.choice(n_members, clash.size, p=recv / recv.sum())
        a = np.ceil(rng.lognormal(17.0, 1.5, n_obligations)).astype(np.int64)  # median ~24 tokens, heavy tail
    else:
        raise ValueError(f"unknown scenario {scenario!r}")
    gross = np.zeros(n_members, dtype=np.int64)
    np.add.at(gross, d, a)
    return d, c, a.astype(np.int64), gross * liquidity_pct // 100


def liquidity_instance(
    n_obligations: int, n_members: int, liquidity_pct: int, seed: int, scenario: str = "skewed"
) -> tuple[list[Obligation], dict[str, int]]:
    """The benchmark's obligations and available liquidity (deterministic in ``seed``)."""
    d, c, a, avail = liquidity_arrays(n_obligations, n_members, liquidity_pct, seed, scenario)
    names = [f"m{k:03d}" for k in range(n_members)]
    obs = [
        Obligation(f"o{i}", names[di], names[ci], ai)
        for i, (di, ci, ai) in enumerate(zip(d.tolist(), c.tolist(), a.tolist(), strict=True))
    ]
    paying = set(d.tolist())
    return obs, {names[k]: int(v) for k, v in enumerate(avail.tolist()) if k in paying}


def liquidity_case(
    n_obligations: int,
    n_members: int,
    liquidity_pct: int,
    seed: int,
    *,
    fifo: bool = False,
    time_budget: float = 1.5,
    reference_seconds: float = 60.0,
    scenario: str = "skewed",
    progress: Progress | None = None,
) -> dict[str, Any]:
    progress = progress or Progress("bench netting")
    label = f"liquidity saving{' (fifo)' if fifo else ''}, {n_obligations:,} obligations among {n_members} members"
    obs, available = liquidity_instance(n_obligations, n_members, liquidity_pct, seed, scenario)
    select_settlement(obs[:50], available, time_budget=0.1)  # warm up imports (scipy) outside the timing

    with progress.step(f"{label}: our solver (budget {time_budget:g} s)"):
        t = time.perf_counter()
        plan = select_settlement(obs, available, fifo=fifo, time_budget=time_budget)
        t_ours = time.perf_counter() - t
    with progress.step(f"{label}: Ubin deactivation baseline"):
        t = time.perf_counter()
        base = ubin_deactivation(obs, available, fifo=fifo)
        t_base = time.perf_counter() - t
    with progress.step(f"{label}: reference MILP for the optimum (up to {reference_seconds:g} s)"):
        t = time.perf_counter()
        ref = select_settlement(obs, available, fifo=fifo, method="milp", time_budget=reference_seconds)
        t_ref = time.perf_counter() - t

    bounds = [b for b in (plan.upper_bound, ref.upper_bound) if b is not None]
    best_value = max(plan.settled_value, ref.settled_value, base.settled_value)
    optimum = min(bounds) if bounds else best_value
    proven = optimum <= best_value
    return {
        "scenario": scenario,
        "obligations": n_obligations,
        "members": n_members,
        "liquidity_pct_of_gross_debit": liquidity_pct,
        "fifo": fifo,
        "gross_value": plan.gross_value,
        "optimum_upper_bound": optimum,
        "optimum_proven_exactly": proven,
        "reference_milp": {"seconds": round(t_ref, 2), "settled_value": ref.settled_value, "gap": ref.optimality_gap},
        "ours": {
            "method": plan.method,
            "seconds": round(t_ours, 3),
            "settled_value": plan.settled_value,
            "fraction_of_optimum": round(plan.settled_value / optimum, 6) if optimum else 1.0,
            "fraction_of_gross": round(plan.settled_value / plan.gross_value, 6),
            "reported_gap": plan.optimality_gap,
        },
        "baseline_ubin_deactivation": {
            "seconds": round(t_base, 3),
            "settled_value": base.settled_value,
            "fraction_of_optimum": round(base.settled_value / optimum, 6) if optimum else 1.0,
            "fraction_of_gross": round(base.settled_value / base.gross_value, 6),
        },
        "target_fraction": 0.99,
        "target_seconds": 2.0,
        "meets_target": (plan.settled_value >= 0.99 * optimum) and t_ours <= 2.0,
    }


def run(
    *,
    seed: int = 2026,
    n_obligations: int = 1_000_000,
    n_members: int = 1_000,
    liq_obligations: int = 10_000,
    liq_members: int = 50,
    liquidity_pct: int = 20,
    time_budget: float = 1.5,
    reference_seconds: float = 60.0,
    scenario: str = "skewed",
    fifo: bool = True,
    repeats: int = 7,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run every case and return one JSON-able dict; progress on stderr."""
    progress = progress or Progress("bench netting")
    with progress.step(f"netting {n_obligations:,} obligations among {n_members:,} members, best of {repeats}"):
        netting = netting_case(n_obligations, n_members, seed, repeats)
    out: dict[str, Any] = {
        "benchmark": "netting",
        "seed": seed,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "machine": platform.machine(),
        "netting": netting,
        "liquidity_saving": liquidity_case(
            liq_obligations,
            liq_members,
            liquidity_pct,
            seed,
            time_budget=time_budget,
            reference_seconds=reference_seconds,
            scenario=scenario,
            progress=progress,
        ),
    }
    if fifo:
        out["liquidity_saving_fifo"] = liquidity_case(
            liq_obligations,
            liq_members,
            liquidity_pct,
            seed,
            fifo=True,
            time_budget=time_budget,
            reference_seconds=reference_seconds,
            scenario=scenario,
            progress=progress,
        )
    return out


def _write_instance(
    folder: Path, n_obligations: int, n_members: int, liquidity_pct: int, seed: int
) -> tuple[Path, Path, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """The scale instance as the two CSV files ``clearing net`` reads (written with numpy, not per row in Python)."""
    d, c, a, avail = liquidity_arrays(n_obligations, n_members, liquidity_pct, seed)
    names = np.array([f"m{k:03d}" for k in range(n_members)])
    obl = folder / f"obligations-{n_obligations}.csv"
    ids = np.char.add("o", np.arange(n_obligations).astype(str))
    body = np.char.add(np.char.add(np.char.add(ids, ","), np.char.add(names[d], ",")), np.char.add(names[c], ","))
    lines = np.char.add(body, a.astype(str))
    obl.write_text("id,debtor,creditor,amount\n" + "\n".join(lines.tolist()) + "\n")
    av = folder / f"available-{n_obligations}.csv"
    paying = np.flatnonzero(np.bincount(d, minlength=n_members))
    av.write_text("member,available\n" + "".join(f"{names[k]},{int(avail[k])}\n" for k in paying))
    return obl, av, (d, c, a, avail)


def bare_lp(d: np.ndarray, c: np.ndarray, a: np.ndarray, avail: np.ndarray) -> tuple[float, float]:
    """The baseline: one bare HiGHS solve of the LP relaxation over obligations (seconds, bound in token units).

    The model is the one :func:`~clearing.domain.liquidity.model.build_model`
    writes (one row per member whose gross debit exceeds its liquidity,
    amounts over the largest), passed to HiGHS (``highspy``, default
    options) before the clock starts: only ``run()`` is timed.
    """
    import highspy

    n, m = a.size, avail.size
    gross = np.bincount(d, weights=a.astype(np.float64), minlength=m)
    rows = np.flatnonzero(gross > avail)
    rmap = np.full(m, -1)
    rmap[rows] = np.arange(rows.size)
    scale = float(a.max())
    af = a / scale
    rd, rc = rmap[d], rmap[c]
    counts = (rd >= 0).astype(np.int64) + (rc >= 0)
    start = np.concatenate([[0], np.cumsum(counts)])
    index = np.empty(int(start[-1]), dtype=np.int32)
    value = np.empty(int(start[-1]))
    first = start[:n]
    index[first[rd >= 0]], value[first[rd >= 0]] = rd[rd >= 0], af[rd >= 0]
    at_c = first + (rd >= 0)
    index[at_c[rc >= 0]], value[at_c[rc >= 0]] = rc[rc >= 0], -af[rc >= 0]
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n, rows.size
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = -af, np.zeros(n), np.ones(n)
    lp.row_lower_, lp.row_upper_ = np.full(rows.size, -highspy.kHighsInf), avail[rows] / scale
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = start.astype(np.int32), index, value
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.passModel(lp)
    t = time.perf_counter()
    h.run()
    seconds = time.perf_counter() - t
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        raise RuntimeError(f"baseline LP: HiGHS status {h.getModelStatus()}")
    return seconds, -h.getInfo().objective_function_value * scale


def _clearing_net(obl: Path, av: Path, out: Path) -> tuple[float, int]:
    """``clearing net`` in a fresh process (this tree's code): wall seconds and peak RSS in KiB."""
    src = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    cmd = [sys.executable, "-c", "import sys; from clearing.cli import main; main(sys.argv[1:])"]
    with out.open("w") as sink:
        t = time.perf_counter()
        proc = subprocess.Popen([*cmd, "net", "--obligations", str(obl), "--available", str(av)], stdout=sink, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"clearing net exited {proc.returncode}")
    return wall, int(usage.ru_maxrss)


def _check_output(out: Path, d: np.ndarray, c: np.ndarray, a: np.ndarray, avail: np.ndarray) -> int:
    """Re-check ``clearing net``'s JSON in exact integers; its settled value. Raises AssertionError if it is wrong."""
    report = json.loads(out.read_text())
    n = a.size
    settled = np.zeros(n, dtype=bool)
    idx = np.array([int(i[1:]) for i in report["settled"]], dtype=np.int64)
    settled[idx] = True
    deferred = np.array([int(i[1:]) for i in report["deferred"]], dtype=np.int64)
    assert idx.size + deferred.size == n and not settled[deferred].any(), "settled and deferred must split the ids"
    # Python ints: exact whatever the sizes
    net = [0] * avail.size
    for di, ci, ai in zip(d[settled].tolist(), c[settled].tolist(), a[settled].tolist(), strict=True):
        net[di] += ai
        net[ci] -= ai
    assert all(x <= int(v) for x, v in zip(net, avail.tolist(), strict=True)), "a member's net debit exceeds its limit"
    names = [f"m{k:03d}" for k in range(avail.size)]
    shown = {names[k]: -x for k, x in enumerate(net) if names[k] in report["positions"]}
    assert shown == report["positions"], "positions differ from the settled set's"
    value = sum(a[settled].tolist())
    assert value == report["settled_value"], "settled_value differs from the settled set's"
    return value


def scale_case(
    sizes: tuple[int, ...] = (10_000, 100_000, 1_000_000),
    n_members: int = 400,
    liquidity_pct: int = 3,
    seed: int = 2026,
    repeats: int = 2,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Issue 15's scale target: ``clearing net`` end to end against one bare HiGHS LP solve, per size.

    Each size: the instance is written as CSV; the baseline LP and ``clearing
    net`` (a fresh process: start-up, CSV parsing, solving, JSON out) run
    alternately ``repeats`` times; the ratio is of the best times. Quality is
    the settled value over the LP bound (the baseline's optimum), after the
    output has been re-checked in exact integers.
    """
    progress = progress or Progress("bench netting --scale")
    cases = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for n in sizes:
            label = f"{n:,} obligations among {n_members} members, {liquidity_pct}% of gross debit"
            with progress.step(f"{label}: writing the CSV files"):
                obl, av, (d, c, a, avail) = _write_instance(folder, n, n_members, liquidity_pct, seed)
            t_lp, t_net, rss = [], [], []
            bound = 0.0
            for r in range(repeats):
                with progress.step(f"{label}: bare HiGHS LP ({r + 1}/{repeats})"):
                    seconds, bound = bare_lp(d, c, a, avail)
                    t_lp.append(seconds)
                with progress.step(f"{label}: clearing net ({r + 1}/{repeats})"):
                    wall, peak = _clearing_net(obl, av, folder / "out.json")
                    t_net.append(wall)
                    rss.append(peak)
            value = _check_output(folder / "out.json", d, c, a, avail)
            ratio = min(t_net) / min(t_lp)
            quality = value / bound
            cases.append(
                {
                    "obligations": n,
                    "members": n_members,
                    "liquidity_pct_of_gross_debit": liquidity_pct,
                    "gross_value": int(a.sum()),
                    "lp_bound": round(bound),
                    "bare_lp_seconds": [round(t, 3) for t in t_lp],
                    "clearing_net_seconds": [round(t, 3) for t in t_net],
                    "clearing_net_peak_rss_mib": round(max(rss) / 1024, 1),
                    "ratio_to_bare_lp": round(ratio, 2),
                    "settled_value": value,
                    "fraction_of_lp_bound": round(quality, 6),
                    "exact_check": "passed",
                    "target": {"ratio": 3.0, "fraction_of_lp_bound": 0.999},
                    "meets_target": {"ratio": ratio <= 3.0, "quality": quality >= 0.999},
                }
            )
    return {"benchmark": "netting --scale", "seed": seed, "python": platform.python_version(), "cases": cases}
