"""The LP relaxation: a proven upper bound, and a point worth rounding.

The relaxation of the gridlock problem has at most one fractional variable
per binding member row, so keeping what it settles fully and filling the
rest greedily lands close to its bound; the bound itself is what
``optimality_gap`` is measured against. Its reduced costs also tell the
kernel MILP (:mod:`~clearing.domain.liquidity.kernel`) which obligations
are worth leaving free.

>>> from clearing.domain.types import Obligation
>>> from clearing.domain.liquidity.problem import Problem
>>> p = Problem.from_input([Obligation("1", "a", "b", 100), Obligation("2", "b", "c", 100),
...                         Obligation("3", "c", "a", 100), Obligation("4", "a", "c", 50)], {"a": 10}, fifo=False)
>>> lp = solve_lp(p, 1.0)
>>> round(lp.bound), [round(float(v), 6) for v in lp.x]  # the cycle, and a fifth of the 50 on a's 10
(310, [1.0, 1.0, 1.0, 0.2])
>>> round_lp(p, lp).value
300
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from clearing.domain.liquidity.local_search import fill, repair
from clearing.domain.liquidity.model import MIN_SOLVE, Model, build_model
from clearing.domain.liquidity.precedence import normalize
from clearing.domain.liquidity.problem import Problem, State

__all__ = ["LPRelaxation", "solve_lp", "round_lp"]

#: Up to this many obligations the FIFO LP (one precedence row per queue
#: step, slow in HiGHS) is solved; above it the LP without precedence rows
#: still gives a valid, looser bound.
_FIFO_LP_MAX = 2_000


@dataclass(frozen=True)
class LPRelaxation:
    """The solved relaxation of :func:`~clearing.domain.liquidity.model.build_model`'s model."""

    model: Model
    x: npt.NDArray[np.float64] | None  # None when the LP left out the precedence rows
    bound: float  # proven upper bound on the settled value
    reduced: npt.NDArray[np.float64]  # reduced costs (minimisation form)


def solve_lp(p: Problem, time_limit: float) -> LPRelaxation | None:
    """LP relaxation: a proven upper bound, a fractional point, reduced costs.

    None when HiGHS does not finish (time limit) or fails.
    """
    from scipy.optimize import linprog

    exact = not p.fifo or p.n <= _FIFO_LP_MAX
    model = build_model(p, precedence=exact)
    res = linprog(
        model.cost,
        A_ub=model.A,
        b_ub=model.b,
        bounds=(0, 1),
        method="highs",
        options={"time_limit": max(MIN_SOLVE, time_limit)},
    )
    if res.status != 0 or res.x is None:
        return None
    bound: float = -res.fun * model.scale
    reduced: npt.NDArray[np.float64] = model.cost - model.A.T @ res.ineqlin.marginals
    return LPRelaxation(model, res.x if exact else None, bound, reduced)


def round_lp(p: Problem, lp: LPRelaxation) -> State | None:
    """Keep what the LP settles fully, fill, repair exactly, fill again.

    None when the LP has no point (it left out the precedence rows).
    """
    x = lp.x
    if x is None:
        return None
    s = p.state_from(i for i in range(p.n) if x[i] > 1 - 1e-6)
    normalize(p, s)
    fill(p, s)  # adding only ever helps creditors, so fill before repairing
    repair(p, s)
    fill(p, s)
    return s
