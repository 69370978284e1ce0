"""Local search on a chosen set: repair a broken limit, fill what still fits.

Every solver ends here. HiGHS answers in floating point and the rounding of
an LP point breaks limits, so its points are turned into exact states by
:func:`round_point` (round, restore the queue order, :func:`repair`,
:func:`fill`); the Ubin baseline is improved by :func:`fill` alone. Both
keep the FIFO/priority order of :mod:`~clearing.domain.liquidity.precedence`.

>>> from clearing.domain.types import Obligation
>>> from clearing.domain.liquidity.problem import Problem
>>> p = Problem.from_input([Obligation("1", "a", "b", 60), Obligation("2", "a", "c", 50),
...                         Obligation("3", "c", "a", 40)], {"a": 30}, fifo=False)
>>> s = p.state_all()
>>> s.feasible()
False
>>> repair(p, s)
>>> s.inset, s.feasible()
([False, True, True], True)
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from clearing.domain.errors import NettingInfeasible
from clearing.domain.liquidity.precedence import can_add, can_remove, normalize
from clearing.domain.liquidity.problem import Problem, State

__all__ = ["repair", "fill", "round_point"]


def repair(p: Problem, s: State) -> None:
    """Remove obligations until every member fits, losing little value.

    The worst member goes first. Each removal costs its amount and may
    push the creditor (who loses the receipt) over its own limit, so a
    candidate is scored by (amount + deficit it creates at the creditor)
    per unit of excess it removes; the cheapest goes. Under ``fifo``
    only the last obligation of the debtor's settled prefix can go.
    """
    avail = p.avail
    bad = {k for k in range(p.m) if s.net[k] > avail[k]}
    while bad:
        k = max(bad, key=lambda k: (s.net[k] - avail[k], -k))
        excess = s.net[k] - avail[k]
        pick = -1
        if p.fifo:
            last = s.count_in[k] - 1
            pick = p.queue[k][last] if last >= 0 else -1
        else:
            best_score = 0.0
            for i in p.queue[k]:
                if s.inset[i] and can_remove(p, s, i):
                    ai = p.a[i]
                    cr = p.c[i]
                    induced = ai - max(0, avail[cr] - s.net[cr])
                    score = (ai + max(0, induced)) / min(ai, excess)
                    if pick < 0 or score < best_score:
                        pick, best_score = i, score
        if pick < 0:  # cannot happen: a member over its limit pays something in the set
            raise NettingInfeasible(f"cannot repair member {p.names[k]!r}")
        s.toggle_out(pick)
        cr = p.c[pick]
        if s.net[cr] > avail[cr]:
            bad.add(cr)
        if s.net[k] <= avail[k]:
            bad.discard(k)


def fill(p: Problem, s: State) -> None:
    """Add deferred obligations that fit, largest first, until none does."""
    for i in sorted(range(p.n), key=lambda i: (-p.a[i], i)):
        if not s.inset[i]:
            _try_member(p, s, p.d[i], only=i)
    work = list(range(p.m))
    queued = [True] * p.m
    while work:
        k = work.pop()
        queued[k] = False
        for cr in _try_member(p, s, k):
            if not queued[cr]:
                queued[cr] = True
                work.append(cr)


def _try_member(p: Problem, s: State, k: int, only: int = -1) -> list[int]:
    """Add what fits among member k's deferred obligations; return creditors that gained.

    One pass is enough: adding an obligation of k only raises k's own
    net debit, so nothing skipped earlier in the pass can start to fit.
    """
    gained: list[int] = []
    avail = p.avail[k]
    if p.fifo:
        q = p.queue[k]
        j = s.count_in[k]  # FIFO states are prefixes of the queue
        while j < len(q) and (only < 0 or q[j] == only) and s.net[k] + p.a[q[j]] <= avail:
            s.toggle_in(q[j])
            gained.append(p.c[q[j]])
            j += 1
            if only >= 0:
                break
        return gained
    for i in (only,) if only >= 0 else p.out_sorted[k]:
        if not s.inset[i] and can_add(p, s, i) and s.net[k] + p.a[i] <= avail:
            s.toggle_in(i)
            gained.append(p.c[i])
    return gained


def round_point(p: Problem, x: npt.NDArray[np.float64]) -> State:
    """Round a solver point, then make it exactly feasible and maximal."""
    s = p.state_from(i for i in range(p.n) if x[i] > 0.5)
    normalize(p, s)
    repair(p, s)
    fill(p, s)
    return s
