"""The baseline: Bech–Soramäki queue deactivation, as in MAS Project Ubin.

Bech & Soramäki (Bank of Finland discussion paper 9/2001) resolve gridlock
by letting every member over its limit drop the last obligation of its
queue, round after round, until everyone fits. It is fast, always feasible
and keeps FIFO and priority order by construction, but it proves nothing
about how much value it left behind;
:func:`~clearing.domain.liquidity.select_settlement` starts from it and never
returns less.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from clearing.domain.liquidity.plan import SettlementPlan, build_plan
from clearing.domain.liquidity.problem import Problem, State
from clearing.domain.types import Obligation

__all__ = ["ubin_deactivation", "deactivate"]


def ubin_deactivation(
    obligations: Iterable[Obligation], available: Mapping[str, int], *, fifo: bool = False
) -> SettlementPlan:
    """The baseline: Bech–Soramäki / Project Ubin queue-deactivation rounds.

    Start with every obligation queued; in each round every member whose
    net debit exceeds its liquidity deactivates the last obligation of its
    queue (latest, non-priority first); repeat until every member fits.
    Deactivated obligations are deferred. Always feasible; keeps FIFO and
    priority order by construction; no optimality bound (``gap`` is None).

    >>> from clearing.domain.types import Obligation
    >>> obs = [Obligation("1", "a", "b", 100), Obligation("2", "b", "a", 90),
    ...        Obligation("3", "a", "c", 5)]
    >>> p = ubin_deactivation(obs, {})
    >>> p.settled, [(d.id, d.shortfall) for d in p.deferred]
    ((), [('1', 100), ('2', 90), ('3', 5)])
    >>> ubin_deactivation(obs, {"a": 15}).settled
    ('1', '2', '3')
    """
    prob = Problem.from_input(obligations, available, fifo)
    return build_plan(prob, deactivate(prob), "ubin", None)


def deactivate(p: Problem) -> State:
    """Queue-deactivation rounds (Bech–Soramäki 2001; MAS Project Ubin)."""
    s = p.state_all()
    active = [len(q) for q in p.queue]
    bad = sorted(k for k in range(p.m) if s.net[k] > p.avail[k])
    while bad:
        touched: set[int] = set()
        for k in bad:  # simultaneous round: each infeasible member drops its last queued obligation
            if s.net[k] > p.avail[k] and active[k]:
                active[k] -= 1
                i = p.queue[k][active[k]]
                s.toggle_out(i)
                touched.add(k)
                touched.add(p.c[i])
        bad = sorted(k for k in touched | set(bad) if s.net[k] > p.avail[k])
    return s
