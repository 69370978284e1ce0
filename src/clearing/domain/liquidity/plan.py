"""What leaves the solvers: the plan, each deferral's reason, and the exact check behind both.

Whatever solver chose the set, :func:`build_plan` re-checks it with exact
integer arithmetic before anything leaves the core, explains every deferred
obligation (a reason and the debtor's exact shortfall) and turns the best
float bound any solver proved into an integer one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from clearing.domain.errors import NettingInfeasible
from clearing.domain.liquidity.model import bound_int
from clearing.domain.liquidity.precedence import order_ok
from clearing.domain.liquidity.problem import Problem, State
from clearing.domain.types import Obligation

__all__ = [
    "Deferral",
    "SettlementPlan",
    "build_plan",
    "is_feasible",
    "INSUFFICIENT_LIQUIDITY",
    "FIFO_BLOCKED",
    "PRIORITY_BLOCKED",
]

#: The debtor's net debit would exceed its available liquidity.
INSUFFICIENT_LIQUIDITY = "insufficient-liquidity"
#: ``fifo=True`` and an earlier obligation of the same debtor is deferred.
FIFO_BLOCKED = "fifo-blocked"
#: A priority obligation of the same debtor is deferred.
PRIORITY_BLOCKED = "priority-blocked"


@dataclass(frozen=True, slots=True)
class Deferral:
    """An obligation carried to the next cycle.

    ``shortfall`` is the exact extra liquidity the debtor would have needed
    for its net debit over the settled set plus this obligation to fit
    (0 when only ``fifo``/priority order blocked it).
    """

    id: str
    reason: str
    debtor: str
    shortfall: int


@dataclass(frozen=True)
class SettlementPlan:
    """What to settle this cycle.

    ``settled`` keeps input order; ``positions`` are net positions
    (receipts − payments) over the settled set for every member named in
    the obligations; ``upper_bound`` is the best proven bound on the
    settled value (``None`` if none was computed).
    """

    settled: tuple[str, ...]
    deferred: tuple[Deferral, ...]
    positions: dict[str, int]
    settled_value: int
    gross_value: int
    optimality_gap: float | None
    method: str
    upper_bound: int | None = None


def is_feasible(
    obligations: Iterable[Obligation], available: Mapping[str, int], settled: Iterable[str], *, fifo: bool = False
) -> bool:
    """True if settling exactly ``settled`` keeps every limit and the
    FIFO/priority order. Exact integer check, for callers and tests.

    >>> from clearing.domain.types import Obligation
    >>> obs = [Obligation("1", "a", "b", 10), Obligation("2", "b", "a", 4)]
    >>> is_feasible(obs, {"a": 6}, ["1", "2"]), is_feasible(obs, {"a": 6}, ["1"])
    (True, False)
    """
    prob = Problem.from_input(obligations, available, fifo)
    chosen = set(settled)
    state = prob.state_empty()
    for i, ob in enumerate(prob.obs):
        if ob.id in chosen:
            state.toggle_in(i)
    return state.feasible() and order_ok(prob, state)


def build_plan(p: Problem, s: State, method: str, bound: float | None) -> SettlementPlan:
    """The plan for state ``s``, found by ``method``; ``bound`` is the best float bound proved, if any.

    Raises :class:`~clearing.domain.errors.NettingInfeasible` if ``s``
    breaks a limit or the queue order: a solver bug must never reach a
    settlement.
    """
    if not s.feasible() or not order_ok(p, s):  # exact re-check before anything leaves the core
        raise NettingInfeasible(f"plan from {method} breaks a liquidity limit or the queue order")
    settled = tuple(o.id for i, o in enumerate(p.obs) if s.inset[i])
    deferred = []
    first_out = [-1] * p.m
    for k, q in enumerate(p.queue):
        for i in q:
            if not s.inset[i]:
                first_out[k] = i
                break
    for i, o in enumerate(p.obs):
        if s.inset[i]:
            continue
        k = p.d[i]
        if p.fifo and first_out[k] != i:
            reason = FIFO_BLOCKED
        elif not p.fifo and not p.prio[i] and s.prio_in[k] < p.n_prio[k]:
            reason = PRIORITY_BLOCKED
        else:
            reason = INSUFFICIENT_LIQUIDITY
        shortfall = max(0, s.net[k] + p.a[i] - p.avail[k])
        deferred.append(Deferral(o.id, reason, o.debtor, shortfall))
    positions = {name: -s.net[k] for k, name in enumerate(p.names)}
    if sum(positions.values()) != 0:
        raise NettingInfeasible("net positions do not sum to zero")
    value = s.value
    gap: float | None = None
    ub: int | None = None
    if bound is not None:
        ub = max(value, min(p.total, bound_int(bound)))
        gap = 0.0 if ub <= value else (ub - value) / ub
    return SettlementPlan(settled, tuple(deferred), positions, value, p.total, gap, method, ub)
