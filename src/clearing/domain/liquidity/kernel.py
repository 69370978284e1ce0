"""The kernel MILP: an exact search over the LP's marginal obligations only.

Above a few thousand obligations the full MILP does not close its gap
within a cycle's time budget, but most variables are already decided: the
LP prices them strictly in or out and the incumbent agrees. Fixing those
and solving the MILP over the rest (RINS, guided by reduced costs) finds
points within ~0.5% of the LP bound in about a second on 10,000
obligations.
"""

from __future__ import annotations

import numpy as np

from clearing.domain.liquidity.local_search import round_point
from clearing.domain.liquidity.lp import LPRelaxation
from clearing.domain.liquidity.model import MIN_SOLVE
from clearing.domain.liquidity.problem import Problem, State

__all__ = ["kernel_milp"]


def kernel_milp(p: Problem, lp: LPRelaxation, incumbent: State, time_limit: float) -> State | None:
    """MILP over a neighbourhood of the incumbent (RINS with reduced costs).

    Obligations the LP prices strictly in or out (non-zero reduced cost)
    on which the incumbent agrees with the LP keep the incumbent's value;
    the rest — the LP's marginal obligations and every disagreement — are
    free. The incumbent is feasible there, so the sub-MIP is too, and
    with about half the variables fixed HiGHS finds points within ~0.5%
    of the LP bound in about a second on 10,000 obligations.

    None when the LP has no point (it left out the precedence rows), when
    nothing is free, or when HiGHS finds no point in time.
    """
    from scipy.optimize import Bounds, LinearConstraint, milp

    model, n, lp_x = lp.model, p.n, lp.x
    if lp_x is None:
        return None
    inc = np.zeros(model.nvar)
    inc[:n] = incumbent.inset
    free = np.ones(model.nvar, dtype=bool)
    free[:n] = (np.abs(lp.reduced[:n]) <= 1e-9) | (np.abs(lp_x[:n] - inc[:n]) > 1e-6)
    if not free[:n].any():
        return None
    fixed = ~free
    rhs = model.b - model.A[:, fixed] @ inc[fixed]
    integrality = np.zeros(int(free.sum()))
    integrality[: int(free[:n].sum())] = 1
    res = milp(
        model.cost[free],
        integrality=integrality,
        bounds=Bounds(0, 1),
        constraints=LinearConstraint(model.A[:, free], -np.inf, rhs + 1e-9),
        # presolve off: on these sub-MIPs it costs ~0.5 s, overruns the time limit
        # and finds worse points within a ~1 s budget (measured on the bench instances)
        options={
            "time_limit": max(MIN_SOLVE, time_limit - MIN_SOLVE),
            "mip_rel_gap": 0.0,
            "disp": False,
            "presolve": False,
        },
    )
    if res.x is None:
        return None
    x = inc
    x[free] = res.x
    return round_point(p, x)
