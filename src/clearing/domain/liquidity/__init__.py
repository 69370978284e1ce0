"""Liquidity-saving settlement: settle the most value the liquidity allows.

Given each member's available liquidity (free collateral + unused credit),
choose the obligations to settle this cycle so that the settled value is as
large as possible while every member's *net debit* over the chosen set
(payments − receipts) stays ≤ its available amount. The rest is deferred
to the next cycle, each with a reason and the debtor's exact shortfall.

This is the gridlock-resolution problem of Bech & Soramäki (Bank of Finland
discussion paper 9/2001), a multi-dimensional 0/1 knapsack with signed rows
— NP-hard in general, but its LP relaxation has at most one fractional
variable per binding member row, so the LP bound is very tight. The solver:

1. validates everything, then settles everything if that already fits;
2. runs the baseline, :func:`ubin_deactivation` (the queue-deactivation
   rounds of Bech–Soramäki, as in MAS Project Ubin's liquidity-saving
   mechanism), followed by a greedy fill;
3. solves the LP relaxation with HiGHS (``scipy.optimize.linprog``), rounds
   it, repairs any broken limit exactly and fills greedily; the LP optimum
   is a proven upper bound;
4. within the remaining time budget solves the exact MILP with HiGHS
   (``scipy.optimize.milp``), whose dual bound tightens the proof; above
   2,000 obligations, a MILP over the LP's marginal obligations only.

From :data:`SCALE_MIN` (20,000) obligations without FIFO or priorities,
and amounts whose total fits ``int64``, the object path gives way to the
at-scale solver (:func:`settle_columns`, on :class:`Columns`): the LP
relaxation over member pairs (the same bound), re-solved level by level
after fixing the largest obligations, then exact repair and fill in
``int64``. It has no time budget (a fixed number of LP re-solves) and
skips the Ubin baseline, which settles far less there (38% of the bound
against 99.7% on the 100k bench instance).

Every candidate is checked with exact integer arithmetic (HiGHS works in
floating point), repaired if needed, and the best feasible one is returned,
so the answer is always feasible and, on the object path, never worse than
the Ubin baseline or than settling nothing. ``optimality_gap`` is ``(bound − value) / bound`` for
the best proven bound (``0.0`` means proven optimal, up to HiGHS's 1e-9
tolerances).

Options: ``fifo=True`` settles a debtor's obligation only if all its
earlier ones settle. ``priority=True`` on an obligation puts it ahead of the
debtor's non-priority ones: a non-priority obligation settles only if every
priority obligation of the same debtor settles (TARGET2's rule that normal
payments do not overtake urgent ones). With ``fifo`` the debtor's queue is
its priority obligations then the rest, each in input order.

One module per solver, behind one dispatcher (as networkx lays out its flow
algorithms); this package re-exports the public API:

- :mod:`~clearing.domain.liquidity.dispatch` — :func:`select_settlement`, which picks the solvers;
- :mod:`~clearing.domain.liquidity.ubin` — the baseline, :func:`ubin_deactivation`;
- :mod:`~clearing.domain.liquidity.lp` — the LP relaxation and its rounding;
- :mod:`~clearing.domain.liquidity.kernel` — the MILP over the LP's marginal obligations;
- :mod:`~clearing.domain.liquidity.milp` — the full MILP;
- :mod:`~clearing.domain.liquidity.model` — the matrix form the three HiGHS solvers share;
- :mod:`~clearing.domain.liquidity.local_search` — repair and greedy fill;
- :mod:`~clearing.domain.liquidity.precedence` — the FIFO/priority queue order;
- :mod:`~clearing.domain.liquidity.problem` — the indexed instance and the chosen-set state;
- :mod:`~clearing.domain.liquidity.plan` — :class:`SettlementPlan`, :class:`Deferral`, :func:`is_feasible`;
- :mod:`~clearing.domain.liquidity.columns` — :class:`Columns`, the instance as numpy arrays, and its exact check;
- :mod:`~clearing.domain.liquidity.scale` — :func:`settle_columns`, the at-scale solver.

>>> from clearing.domain.types import Obligation
>>> obs = [Obligation("1", "a", "b", 100), Obligation("2", "b", "c", 100),
...        Obligation("3", "c", "a", 100), Obligation("4", "a", "c", 50)]
>>> plan = select_settlement(obs, {"a": 10})
>>> plan.settled, plan.settled_value, plan.gross_value, plan.optimality_gap
(('1', '2', '3'), 300, 350, 0.0)
>>> plan.deferred
(Deferral(id='4', reason='insufficient-liquidity', debtor='a', shortfall=40),)
>>> plan.positions
{'a': 0, 'b': 0, 'c': 0}
"""

from __future__ import annotations

from clearing.domain.liquidity.columns import Columns
from clearing.domain.liquidity.dispatch import METHODS, SCALE_MIN, select_settlement
from clearing.domain.liquidity.plan import (
    FIFO_BLOCKED,
    INSUFFICIENT_LIQUIDITY,
    PRIORITY_BLOCKED,
    Deferral,
    SettlementPlan,
    is_feasible,
)
from clearing.domain.liquidity.scale import ScaleResult, settle_columns
from clearing.domain.liquidity.ubin import ubin_deactivation

__all__ = [
    "Deferral",
    "SettlementPlan",
    "select_settlement",
    "ubin_deactivation",
    "is_feasible",
    "INSUFFICIENT_LIQUIDITY",
    "FIFO_BLOCKED",
    "PRIORITY_BLOCKED",
    "METHODS",
    "SCALE_MIN",
    "Columns",
    "ScaleResult",
    "settle_columns",
]
