from __future__ import annotations

import random
import time

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from clearing.domain.netting import net_positions
from clearing.domain.setoff import setoff
from clearing.domain.types import Obligation

from .strategies import obligation_lists, small_amounts

PROP = settings(max_examples=80, deadline=None)


def lp_max_cleared(obs):
    """Independent optimum: the LP max Σ f, f a circulation within the debts
    (a network matrix, so the LP optimum is integral for integer debts)."""
    if not obs:
        return 0
    names = sorted({o.debtor for o in obs} | {o.creditor for o in obs})
    idx = {n: i for i, n in enumerate(names)}
    A = np.zeros((len(names), len(obs)))
    for j, o in enumerate(obs):
        A[idx[o.debtor], j] += 1
        A[idx[o.creditor], j] -= 1
    res = linprog(
        -np.ones(len(obs)), A_eq=A, b_eq=np.zeros(len(names)), bounds=[(0, o.amount) for o in obs], method="highs"
    )
    assert res.status == 0
    return round(-res.fun)


def has_cycle(edges):
    graph = {}
    for u, v in edges:
        graph.setdefault(u, set()).add(v)
    state = {}

    def visit(u):
        state[u] = 1
        for v in graph.get(u, ()):
            if state.get(v) == 1 or (state.get(v) is None and visit(v)):
                return True
        state[u] = 2
        return False

    return any(state.get(u) is None and visit(u) for u in list(graph))


def check(obs, r):
    assert set(r.cleared) == {o.id for o in obs}
    for o in obs:
        assert 0 <= r.cleared[o.id] <= o.amount
        assert r.cleared[o.id] + r.remaining[o.id] == o.amount
    # never increases anyone's debt or credit, and positions are untouched
    for member in r.debt_before:
        assert 0 <= r.debt_after[member] <= r.debt_before[member]
        assert 0 <= r.credit_after[member] <= r.credit_before[member]
    after = [Obligation(o.id, o.debtor, o.creditor, r.remaining[o.id]) for o in obs if r.remaining[o.id]]
    assert {k: v for k, v in net_positions(after, members=r.positions).items()} == r.positions == net_positions(obs)
    assert r.total_cleared == sum(r.cleared.values())
    assert r.gross_value == sum(o.amount for o in obs)
    # nothing left to clear: the remaining debt graph has no cycle
    assert not has_cycle({(o.debtor, o.creditor) for o in after})


@PROP
@given(obligation_lists(max_size=25, amount=small_amounts))
def test_setoff_optimal_and_safe(obs):
    r = setoff(obs)
    check(obs, r)
    assert r.total_cleared == lp_max_cleared(obs)


@PROP
@given(obligation_lists(max_size=25, amount=st.integers(2**64, 2**256 - 1)))
def test_setoff_huge_amounts(obs):
    check(obs, setoff(obs))


@settings(max_examples=30, deadline=None)
@given(obligation_lists(max_size=15, amount=small_amounts), st.randoms())
def test_order_does_not_change_total(obs, rnd):
    shuffled = list(obs)
    rnd.shuffle(shuffled)
    assert setoff(shuffled).total_cleared == setoff(obs).total_cleared


def test_pure_cycle_clears_to_the_minimum():
    obs = [Obligation("1", "a", "b", 7), Obligation("2", "b", "c", 7), Obligation("3", "c", "a", 7)]
    r = setoff(obs)
    assert r.total_cleared == 21 and all(v == 0 for v in r.debt_after.values())


def test_fifo_within_pair():
    obs = [Obligation("1", "a", "b", 5), Obligation("2", "a", "b", 5), Obligation("3", "b", "a", 7)]
    r = setoff(obs)
    assert r.cleared == {"1": 5, "2": 2, "3": 7}


def test_medium_graph_is_fast():
    rnd = random.Random(3)
    names = [f"m{i}" for i in range(100)]
    obs = []
    for i in range(20_000):
        d, c = rnd.sample(names, 2)
        obs.append(Obligation(f"o{i}", d, c, rnd.randint(1, 10**9)))
    t = time.perf_counter()
    r = setoff(obs)
    assert time.perf_counter() - t < 10
    check(obs, r)
