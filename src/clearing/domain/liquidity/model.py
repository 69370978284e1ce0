"""The matrix form HiGHS solves, and reading its floating-point answers back as integers.

The LP relaxation (:mod:`~clearing.domain.liquidity.lp`), the kernel MILP
(:mod:`~clearing.domain.liquidity.kernel`) and the full MILP
(:mod:`~clearing.domain.liquidity.milp`) all solve one model, built here:
maximise the settled value subject to one row per member that can break its
limit and the queue-order rows. HiGHS works in floats with 1e-9 tolerances,
so amounts are scaled to at most 1 and every bound it proves is padded
before it is trusted as an integer.

scipy ships no type information, so the sparse matrix is typed ``Any``.

>>> from clearing.domain.types import Obligation
>>> from clearing.domain.liquidity.problem import Problem
>>> p = Problem.from_input([Obligation("1", "a", "b", 100), Obligation("2", "b", "a", 50)],
...                        {"a": 10, "b": 50}, fifo=False)
>>> m = build_model(p)
>>> m.A.toarray().tolist(), m.b.tolist(), m.cost.tolist()  # only a can break its limit
([[1.0, -0.5]], [0.1], [-1.0, -0.5])
>>> bound_int(149.99999999), proven(150, 150.0000001), proven(149, 150.0)
(150, True, False)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from clearing.domain.liquidity.problem import Problem

__all__ = ["Model", "build_model", "bound_int", "proven", "MIN_SOLVE"]

#: Seconds below which starting a solver is not worth it.
MIN_SOLVE = 0.05


@dataclass(frozen=True)
class Model:
    """Rows ``A x ≤ b`` over ``nvar`` variables in [0, 1]: the obligations, then any auxiliaries."""

    A: Any  # scipy.sparse.csr_matrix, rows ≤ b
    b: npt.NDArray[np.float64]
    cost: npt.NDArray[np.float64]  # minimise: −amount / scale for obligations, 0 for auxiliaries
    scale: float
    nvar: int
    precedence: bool


def build_model(p: Problem, precedence: bool = True) -> Model:
    """Rows A x ≤ b in units of the largest amount (HiGHS works in floats).

    One row per member whose gross debit exceeds its liquidity (the
    others can never break their limit), plus precedence rows
    ``x_later − x_earlier ≤ 0`` (FIFO queue steps; or, for priority
    without FIFO, an auxiliary y_k ≤ x_p for priority p and x_q ≤ y_k
    for the debtor's other obligations q).
    """
    from scipy.sparse import coo_matrix

    n, m = p.n, p.m
    scale = max(p.a)
    a = np.array([ai / scale for ai in p.a], dtype=np.float64)
    binding = [k for k in range(m) if p.gross_debit[k] > p.avail[k]]
    rmap = np.full(m, -1)
    rmap[binding] = np.arange(len(binding))
    dr, cr = rmap[np.array(p.d)], rmap[np.array(p.c)]
    idx = np.arange(n)
    rows = [dr[dr >= 0], cr[cr >= 0]]
    cols = [idx[dr >= 0], idx[cr >= 0]]
    vals = [a[dr >= 0], -a[cr >= 0]]
    rhs = [min(p.avail[k], p.gross_debit[k]) / scale for k in binding]
    r, nvar = len(binding), n
    er: list[int] = []
    ec: list[int] = []
    ev: list[float] = []

    def before(earlier: int, later: int) -> None:
        nonlocal r
        er.extend((r, r))
        ec.extend((later, earlier))
        ev.extend((1.0, -1.0))
        rhs.append(0.0)
        r += 1

    for k, q in enumerate(p.queue if precedence else ()):
        if p.fifo:
            for earlier, later in zip(q, q[1:], strict=False):  # each queue step
                before(earlier, later)
        elif 0 < p.n_prio[k] < len(q):
            y = nvar
            nvar += 1
            for i in q:
                if p.prio[i]:
                    before(i, y)
                else:
                    before(y, i)
    rows.append(np.array(er, dtype=np.int64))
    cols.append(np.array(ec, dtype=np.int64))
    vals.append(np.array(ev, dtype=np.float64))
    A = coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(r, nvar)).tocsr()
    cost = np.zeros(nvar)
    cost[:n] = -a
    return Model(A, np.array(rhs, dtype=np.float64), cost, float(scale), nvar, precedence)


def bound_int(bound: float) -> int:
    """Integer upper bound from a HiGHS float bound, padded for its 1e-9 tolerances."""
    return math.floor(bound * (1 + 1e-9) + 1e-6)


def proven(value: int, bound: float | None) -> bool:
    """Optimal within HiGHS's tolerances: no point in spending more time."""
    return bound is not None and value >= bound * (1 - 1e-9) - 1e-6
