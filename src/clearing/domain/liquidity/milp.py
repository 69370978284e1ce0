"""The full MILP: the exact problem under a time limit, with HiGHS's dual bound.

Up to a couple of thousand obligations HiGHS usually proves the optimum
within a cycle's budget; when it runs out of time its dual bound still
tightens the proof of the best point found by any solver.

>>> from clearing.domain.types import Obligation
>>> from clearing.domain.liquidity.problem import Problem
>>> p = Problem.from_input([Obligation("1", "a", "b", 100), Obligation("2", "a", "c", 60),
...                         Obligation("3", "a", "c", 45)], {"a": 105}, fifo=False)
>>> s, bound = solve_milp(p, 1.0)
>>> s.inset, s.value, round(bound)
([False, True, True], 105, 105)
"""

from __future__ import annotations

import math

import numpy as np

from clearing.domain.liquidity.local_search import round_point
from clearing.domain.liquidity.model import MIN_SOLVE, build_model
from clearing.domain.liquidity.problem import Problem, State

__all__ = ["solve_milp"]


def solve_milp(p: Problem, time_limit: float) -> tuple[State | None, float | None]:
    """The full MILP under a time limit: a point and HiGHS's dual bound.

    Either may be None: no point found in time, no finite bound reported.
    """
    from scipy.optimize import Bounds, LinearConstraint, milp

    model = build_model(p)
    integrality = np.zeros(model.nvar)
    integrality[: p.n] = 1
    res = milp(
        model.cost,
        integrality=integrality,
        bounds=Bounds(0, 1),
        constraints=LinearConstraint(model.A, -np.inf, model.b),
        options={"time_limit": max(MIN_SOLVE, time_limit - MIN_SOLVE), "mip_rel_gap": 0.0, "disp": False},
    )
    bound: float | None = None
    dual = getattr(res, "mip_dual_bound", None)
    if dual is not None and math.isfinite(dual):
        bound = -dual * model.scale
    if res.status == 0 and res.x is not None:  # optimal: the bound is the point's value
        bound = -res.fun * model.scale if bound is None else min(bound, -res.fun * model.scale)
    if res.x is None:
        return None, bound
    return round_point(p, res.x), bound
