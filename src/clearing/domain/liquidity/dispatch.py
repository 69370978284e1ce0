"""The one entry point that picks solvers: :func:`select_settlement`.

Each solver lives in its own module and returns a
:class:`~clearing.domain.liquidity.problem.State` (and, for the LP and the
MILP, a bound); this module decides which to run within the time budget,
keeps the best feasible state and turns it into the plan.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping

from clearing.domain.errors import InvalidOption
from clearing.domain.liquidity.columns import Columns
from clearing.domain.liquidity.kernel import kernel_milp
from clearing.domain.liquidity.local_search import fill
from clearing.domain.liquidity.lp import round_lp, solve_lp
from clearing.domain.liquidity.milp import solve_milp
from clearing.domain.liquidity.model import MIN_SOLVE, bound_int, proven
from clearing.domain.liquidity.plan import INSUFFICIENT_LIQUIDITY, Deferral, SettlementPlan, build_plan
from clearing.domain.liquidity.problem import Problem, State, validate_available
from clearing.domain.liquidity.scale import settle_columns
from clearing.domain.liquidity.ubin import deactivate
from clearing.domain.netting import validate_obligations
from clearing.domain.types import Obligation

__all__ = ["select_settlement", "METHODS", "SCALE_MIN"]

#: Accepted values of ``method``.
METHODS = ("auto", "milp", "heuristic", "ubin")

#: Up to this many obligations ``auto`` runs the full MILP (a global proof);
#: above it, a MILP over the LP's marginal obligations only (see
#: :func:`~clearing.domain.liquidity.kernel.kernel_milp`).
_FULL_MILP_MAX = 2_000

#: From this many obligations ``auto`` and ``heuristic`` use the at-scale solver
#: (:mod:`~clearing.domain.liquidity.scale`) when no FIFO or priority order
#: applies: below it the kernel MILP finds better points within the budget
#: (99.997% of the optimum on the 10,000-obligation bench), above it the
#: per-obligation Python of the object path costs more than the LP.
SCALE_MIN = 20_000


def select_settlement(
    obligations: Iterable[Obligation],
    available: Mapping[str, int],
    *,
    fifo: bool = False,
    time_budget: float = 1.5,
    method: str = "auto",
) -> SettlementPlan:
    """Choose the obligations to settle, maximising settled value.

    ``available`` maps members to their available liquidity; a member
    missing from it has 0. ``method`` is ``"auto"`` (baseline + LP rounding,
    then the exact MILP in the time left), ``"milp"`` (the MILP straight
    away), ``"heuristic"`` (no MILP) or ``"ubin"`` (the baseline alone, as
    :func:`~clearing.domain.liquidity.ubin.ubin_deactivation`). ``time_budget``
    (seconds) bounds the solver time; validation and exact checks come on top.
    ``auto`` and ``heuristic`` on :data:`SCALE_MIN` obligations or more (no
    ``fifo``, no priorities, amounts within ``int64``) run the at-scale solver
    (:func:`~clearing.domain.liquidity.scale.settle_columns`), which has no
    budget: its work is a fixed number of LP re-solves.

    >>> from clearing.domain.types import Obligation
    >>> obs = [Obligation("1", "a", "b", 60), Obligation("2", "a", "c", 50),
    ...        Obligation("3", "c", "a", 40)]
    >>> p = select_settlement(obs, {"a": 30})
    >>> p.settled, p.positions
    (('2', '3'), {'a': -10, 'b': 0, 'c': 10})
    >>> p = select_settlement(obs, {"a": 30}, fifo=True)
    >>> p.settled, [(d.id, d.reason, d.shortfall) for d in p.deferred]
    ((), [('1', 'insufficient-liquidity', 30), ('2', 'fifo-blocked', 20), ('3', 'insufficient-liquidity', 40)])
    >>> select_settlement(obs, {"a": 30}, method="magic")
    Traceback (most recent call last):
    ...
    clearing.domain.errors.InvalidOption: method must be one of auto, milp, heuristic, ubin; got 'magic'
    """
    if method not in METHODS:
        raise InvalidOption(f"method must be one of {', '.join(METHODS)}; got {method!r}", field="method")
    if not isinstance(time_budget, (int, float)) or isinstance(time_budget, bool) or not time_budget >= 0:
        raise InvalidOption(f"time_budget must be a number ≥ 0, got {time_budget!r}", field="time_budget")
    obs, avail = validate_obligations(obligations), validate_available(available)
    if method in ("auto", "heuristic") and not fifo and len(obs) >= SCALE_MIN:
        if not any(o.priority for o in obs) and Columns.fits([o.amount for o in obs]):
            return _at_scale(obs, avail)
    prob = Problem(obs, avail, bool(fifo))
    deadline = time.perf_counter() + float(time_budget)

    full = prob.state_all()
    if full.feasible():
        return build_plan(prob, full, "all-fit", prob.total)
    base = deactivate(prob)
    if method == "ubin":
        return build_plan(prob, base, "ubin", None)

    best, best_method = base, "ubin"

    def consider(state: State | None, name: str) -> None:
        nonlocal best, best_method
        if state is not None and state.value > best.value:
            best, best_method = state, name

    filled = base.copy()
    fill(prob, filled)
    consider(filled, "ubin+fill")
    if method == "milp":
        state, bound = solve_milp(prob, deadline - time.perf_counter())
        consider(state, "milp")
        return build_plan(prob, best, best_method, bound)

    lp = solve_lp(prob, deadline - time.perf_counter())
    bound = lp.bound if lp is not None else None
    if lp is not None and lp.x is not None:
        consider(round_lp(prob, lp), "lp-round")
    if method == "auto" and not proven(best.value, bound):
        left = deadline - time.perf_counter()
        if left > MIN_SOLVE:
            if prob.n <= _FULL_MILP_MAX or lp is None or lp.x is None:
                state, ub = solve_milp(prob, left)
                consider(state, "milp")
                if ub is not None:
                    bound = ub if bound is None else min(bound, ub)
            else:
                consider(kernel_milp(prob, lp, best, left), "lp-kernel-milp")
    return build_plan(prob, best, best_method, bound)


def _at_scale(obs: tuple[Obligation, ...], available: dict[str, int]) -> SettlementPlan:
    """The plan from :func:`~clearing.domain.liquidity.scale.settle_columns` (checked exactly there)."""
    cols = Columns.from_obligations(obs, available)
    res = settle_columns(cols)
    net = res.net.tolist()
    settled = res.settled.tolist()
    deferred = tuple(
        Deferral(o.id, INSUFFICIENT_LIQUIDITY, o.debtor, max(0, net[k] + o.amount - cols.available[k]))
        for o, k, s in zip(obs, cols.d.tolist(), settled, strict=True)
        if not s
    )
    ub = None if res.bound is None else max(res.value, min(cols.total, bound_int(res.bound)))
    gap = None if ub is None else (0.0 if ub <= res.value else (ub - res.value) / ub)
    return SettlementPlan(
        tuple(o.id for o, s in zip(obs, settled, strict=True) if s),
        deferred,
        {name: -v for name, v in zip(cols.names, net, strict=True)},
        res.value,
        cols.total,
        gap,
        res.method,
        ub,
    )
