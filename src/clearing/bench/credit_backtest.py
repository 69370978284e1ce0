"""Backtest of the credit score: score a generated population at month 9, count defaults in months 10–12.

Reports the AUC (exact, Mann–Whitney with ties counted half), default rates
by tier (the reliability table) and by score decile, and, as a ceiling, the
AUC the hidden month-9 health itself would reach. Targets (issue 9): AUC ≥
0.80 and default rate strictly increasing from tier A to B to C.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Sequence
from dataclasses import asdict
from fractions import Fraction
from typing import Any

import numpy as np

from clearing.bench.credit_population import OUTCOME_MONTHS, generate, inputs_at
from clearing.domain.credit import CreditConfig, assess
from clearing.progress import Progress

__all__ = ["auc", "run", "TARGET_AUC"]

TARGET_AUC = Fraction(4, 5)


def auc(scores: Sequence[int], defaulted: Sequence[bool]) -> Fraction:
    """P(a member that defaulted scores lower than one that did not), ties counting half; exact.

    Mann–Whitney's U over the score ranks, in integers: sort once, and for each
    group of tied scores count the defaulters below it.

    >>> auc([10, 20, 30, 40], [True, True, False, False])
    Fraction(1, 1)
    >>> auc([10, 20, 20, 40], [True, False, True, False])
    Fraction(7, 8)
    >>> auc([5, 5], [True, False])
    Fraction(1, 2)
    """
    if len(scores) != len(defaulted):
        raise ValueError("scores and defaulted differ in length")
    bad = sum(1 for d in defaulted if d)
    good = len(scores) - bad
    if bad == 0 or good == 0:
        raise ValueError("AUC needs at least one member that defaulted and one that did not")
    ties: dict[int, list[int]] = {}
    for score, defaulted_ in zip(scores, defaulted, strict=True):
        ties.setdefault(score, [0, 0])[1 if defaulted_ else 0] += 1
    twice_u = 0  # 2 × (pairs ranked right + half the tied pairs), kept integral
    below = 0
    for score in sorted(ties):
        g, d = ties[score]
        twice_u += 2 * g * below + g * d
        below += d
    return Fraction(twice_u, 2 * bad * good)


def _rate(defaults: int, members: int) -> float | None:
    return round(defaults / members, 4) if members else None


def _tiers(tiers: list[str], scores: list[int], defaulted: list[bool]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for tier in ("A", "B", "C"):
        idx = [i for i, t in enumerate(tiers) if t == tier]
        d = sum(defaulted[i] for i in idx)
        out[tier] = {
            "members": len(idx),
            "defaults": d,
            "default_rate": _rate(d, len(idx)),
            "score_min": min((scores[i] for i in idx), default=None),
            "score_max": max((scores[i] for i in idx), default=None),
        }
    return out


def _deciles(scores: list[int], defaulted: list[bool]) -> list[dict[str, Any]]:
    """Ten equal-sized groups by rank of score (lowest first; ties split by member order)."""
    order = sorted(range(len(scores)), key=lambda i: (scores[i], i))
    out = []
    for k in range(10):
        idx = order[k * len(order) // 10 : (k + 1) * len(order) // 10]
        d = sum(defaulted[i] for i in idx)
        out.append(
            {
                "decile": k + 1,
                "score_min": scores[idx[0]] if idx else None,
                "score_max": scores[idx[-1]] if idx else None,
                "members": len(idx),
                "defaults": d,
                "default_rate": _rate(d, len(idx)),
            }
        )
    return out


def run(
    *,
    members: int = 5_000,
    months: int = 12,
    seed: int = 1,
    window: int = 3,
    config: CreditConfig | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Generate, score at month ``months − 3`` from that month's past only, and compare with later defaults."""
    progress = progress or Progress("bench credit-backtest")
    config = config or CreditConfig()
    t0 = time.perf_counter()
    with progress.step(f"generating {members:,} members over {months} months (seed {seed})"):
        pop = generate(members, months=months, seed=seed)
    month = pop.score_month
    with progress.step(f"scoring {members:,} members at month {month} from months ≤ {month}"):
        assessed = [assess(x, config) for x in inputs_at(pop, month, window=window)]
    scores = [a.score for a in assessed]
    tiers = [a.tier for a in assessed]
    defaulted = [bool(m) for m in (pop.default_month > month).tolist()]
    n_defaults = sum(defaulted)
    progress(f"{n_defaults} defaults in months {month + 1}–{months}")
    if n_defaults in (0, members):
        raise ValueError(f"{n_defaults} of {members} members defaulted: the AUC is undefined; use more members")
    area = auc(scores, defaulted)
    # Ceiling: the generator's hidden health at the scoring month, ranked the same way (lower is safer).
    hidden = np.argsort(np.argsort(-pop.health[:, month - 1], kind="stable"), kind="stable").tolist()
    ceiling = auc(hidden, defaulted)
    by_tier = _tiers(tiers, scores, defaulted)
    rates = [by_tier[t]["default_rate"] for t in ("A", "B", "C")]
    increasing = None not in rates and rates[0] < rates[1] < rates[2]
    return {
        "benchmark": "credit-backtest",
        "seed": seed,
        "members": members,
        "months": months,
        "score_month": month,
        "outcome_months": list(range(month + 1, months + 1)),
        "window_months": min(window, month),
        "defaults": n_defaults,
        "default_rate": round(n_defaults / members, 4),
        "auc": round(float(area), 4),
        "auc_exact": f"{area.numerator}/{area.denominator}",
        "auc_hidden_health": round(float(ceiling), 4),
        "target_auc": float(TARGET_AUC),
        "default_rate_increasing_a_b_c": increasing,
        "meets_target": area >= TARGET_AUC and increasing,
        "tiers": by_tier,
        "deciles": _deciles(scores, defaulted),
        "score_config": asdict(config),
        "outcome_window_months": OUTCOME_MONTHS,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "wall_s": round(time.perf_counter() - t0, 3),
    }
