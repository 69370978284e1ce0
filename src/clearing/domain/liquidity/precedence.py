"""The queue order a settled set must keep: FIFO, or priority before the rest.

Each debtor's queue is its priority obligations, then the rest, each in
input order (:attr:`Problem.queue <clearing.domain.liquidity.problem.Problem>`).
With ``fifo`` the settled obligations of a debtor must be a prefix of its
queue; without it, a non-priority obligation settles only if every priority
obligation of the same debtor does (TARGET2's rule that normal payments do
not overtake urgent ones). Every solver keeps these rules through the four
functions here, so each one states them once.

>>> from clearing.domain.types import Obligation
>>> from clearing.domain.liquidity.problem import Problem
>>> p = Problem.from_input([Obligation("1", "a", "b", 5), Obligation("2", "a", "b", 5)], {}, fifo=True)
>>> s = p.state_from([1])  # the second without the first
>>> order_ok(p, s), can_add(p, s, 0), can_remove(p, s, 1)
(False, True, True)
>>> normalize(p, s)
>>> s.inset, order_ok(p, s)
([False, False], True)
"""

from __future__ import annotations

from clearing.domain.liquidity.problem import Problem, State

__all__ = ["order_ok", "normalize", "can_add", "can_remove"]


def order_ok(p: Problem, s: State) -> bool:
    """True if ``s`` keeps every debtor's FIFO or priority order."""
    for q in p.queue:
        if p.fifo:
            seen_out = False
            for i in q:
                if not s.inset[i]:
                    seen_out = True
                elif seen_out:
                    return False
        else:
            prio_out = any(p.prio[i] and not s.inset[i] for i in q)
            if prio_out and any(not p.prio[i] and s.inset[i] for i in q):
                return False
    return True


def normalize(p: Problem, s: State) -> None:
    """Drop obligations whose FIFO/priority predecessors are not settled."""
    for q in p.queue:
        if p.fifo:
            cut = False
            for i in q:
                if not s.inset[i]:
                    cut = True
                elif cut:
                    s.toggle_out(i)
        elif any(p.prio[i] and not s.inset[i] for i in q):
            for i in q:
                if not p.prio[i] and s.inset[i]:
                    s.toggle_out(i)


def can_add(p: Problem, s: State, i: int) -> bool:
    """Adding deferred obligation ``i`` to an ordered ``s`` keeps the order."""
    q = p.queue[p.d[i]]
    k = p.qpos[i]
    if p.fifo:
        return k == 0 or s.inset[q[k - 1]]
    return p.prio[i] or s.prio_in[p.d[i]] == p.n_prio[p.d[i]]


def can_remove(p: Problem, s: State, i: int) -> bool:
    """Removing settled obligation ``i`` from an ordered ``s`` keeps the order."""
    q = p.queue[p.d[i]]
    k = p.qpos[i]
    if p.fifo:
        return k == len(q) - 1 or not s.inset[q[k + 1]]
    return not p.prio[i] or s.count_in[p.d[i]] == s.prio_in[p.d[i]]
