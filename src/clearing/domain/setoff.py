"""Multilateral set-off with zero cash: clear debt cycles as a min-cost flow.

If A owes B, B owes C and C owes A, part of all three debts can be cancelled
without moving any money. The largest such clearing is the circulation
``f`` inside the obligation graph (``0 ≤ f_e ≤ owed_e``) of maximum total
``Σ f_e`` (Fleischman & Dini, "Liquidity-saving through obligation-clearing
and mutual credit", 2021). Equivalently, the remaining debt ``g = owed − f``
keeps every member's net position and has minimum total — a min-cost flow
that sends each net debtor's net debit to the net creditors along existing
debts at cost 1 per unit per edge. Solved exactly in Python ints (any
``uint256`` amount) by successive shortest paths with Johnson potentials and
Dinic blocking flows on the zero-reduced-cost subgraph (primal–dual).

Net positions never change; nobody's debt or credit grows; the remaining
debt graph has no cycle (or more could be cleared).

>>> from clearing.domain.types import Obligation
>>> r = setoff([Obligation("1", "a", "b", 100), Obligation("2", "b", "c", 80),
...             Obligation("3", "c", "a", 50), Obligation("4", "b", "a", 10)])
>>> r.cleared
{'1': 60, '2': 50, '3': 50, '4': 10}
>>> r.total_cleared, r.debt_before, r.debt_after
(170, {'a': 100, 'b': 90, 'c': 50}, {'a': 40, 'b': 30, 'c': 0})
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass

from clearing.domain.errors import NettingInfeasible
from clearing.domain.netting import validate_obligations
from clearing.domain.types import Obligation

__all__ = ["SetoffResult", "setoff"]


@dataclass(frozen=True)
class SetoffResult:
    """Per obligation: ``cleared`` + ``remaining`` == its amount. Per member:
    gross debt (what it owes) and credit (what it is owed) before and after;
    ``positions`` (receipts − payments) are the same before and after."""

    cleared: dict[str, int]
    remaining: dict[str, int]
    debt_before: dict[str, int]
    debt_after: dict[str, int]
    credit_before: dict[str, int]
    credit_after: dict[str, int]
    positions: dict[str, int]
    total_cleared: int
    gross_value: int


def setoff(obligations: Iterable[Obligation]) -> SetoffResult:
    """Clear the most debt possible without cash; see the module docstring.

    Within a debtor→creditor pair the cleared amount is assigned to the
    pair's obligations in input (FIFO) order.

    >>> setoff([]).total_cleared
    0
    >>> from clearing.domain.types import Obligation
    >>> setoff([Obligation("x", "a", "b", 5)]).remaining
    {'x': 5}
    """
    obs = validate_obligations(obligations)
    names = sorted({o.debtor for o in obs} | {o.creditor for o in obs})
    index = {name: k for k, name in enumerate(names)}
    m = len(names)

    pair_amount: dict[tuple[int, int], int] = {}
    balance = [0] * m  # net debit: owes − is owed
    for o in obs:
        key = (index[o.debtor], index[o.creditor])
        pair_amount[key] = pair_amount.get(key, 0) + o.amount
        balance[key[0]] += o.amount
        balance[key[1]] -= o.amount

    remaining_pair = _min_cost_remaining(m, pair_amount, balance)

    cleared: dict[str, int] = {}
    remaining: dict[str, int] = {}
    to_clear = {key: pair_amount[key] - remaining_pair[key] for key in pair_amount}
    for o in obs:
        key = (index[o.debtor], index[o.creditor])
        c = min(o.amount, to_clear[key])
        to_clear[key] -= c
        cleared[o.id] = c
        remaining[o.id] = o.amount - c

    debt_before = dict.fromkeys(names, 0)
    credit_before = dict.fromkeys(names, 0)
    debt_after = dict.fromkeys(names, 0)
    credit_after = dict.fromkeys(names, 0)
    for o in obs:
        debt_before[o.debtor] += o.amount
        credit_before[o.creditor] += o.amount
        debt_after[o.debtor] += remaining[o.id]
        credit_after[o.creditor] += remaining[o.id]
    positions = {n: credit_before[n] - debt_before[n] for n in names}
    if any(credit_after[n] - debt_after[n] != positions[n] for n in names):  # a circulation never moves positions
        raise NettingInfeasible("set-off changed a net position")
    total = sum(cleared.values())
    return SetoffResult(
        cleared,
        remaining,
        debt_before,
        debt_after,
        credit_before,
        credit_after,
        positions,
        total,
        sum(o.amount for o in obs),
    )


def _min_cost_remaining(
    m: int, pair_amount: dict[tuple[int, int], int], balance: list[int]
) -> dict[tuple[int, int], int]:
    """Remaining debt per pair: min Σ g with out(g) − in(g) = balance, 0 ≤ g ≤ owed.

    Nodes 0..m-1 are members, ``m`` the source (supplies net debtors), ``m+1``
    the sink (absorbs net creditors). Edge ``e`` and its reverse ``e ^ 1``
    share arrays; ``cap`` is residual capacity.
    """
    src, snk = m, m + 1
    nodes = m + 2
    head: list[list[int]] = [[] for _ in range(nodes)]
    to: list[int] = []
    cap: list[int] = []
    cost: list[int] = []

    def add(u: int, v: int, c: int, w: int) -> int:
        e = len(to)
        to.extend((v, u))
        cap.extend((c, 0))
        cost.extend((w, -w))
        head[u].append(e)
        head[v].append(e + 1)
        return e

    pair_edge = {key: add(key[0], key[1], amount, 1) for key, amount in pair_amount.items()}
    need = 0
    for v, b in enumerate(balance):
        if b > 0:
            add(src, v, b, 0)
            need += b
        elif b < 0:
            add(v, snk, -b, 0)

    pot = [0] * nodes
    INF = float("inf")
    sent = 0
    while sent < need:
        # Dijkstra on reduced costs (non-negative thanks to the potentials).
        dist: list[float] = [INF] * nodes
        dist[src] = 0
        heap = [(0, src)]
        while heap:
            du, u = heapq.heappop(heap)
            if du > dist[u]:
                continue
            pu = pot[u]
            for e in head[u]:
                if cap[e]:
                    v = to[e]
                    nd = du + cost[e] + pu - pot[v]
                    if nd < dist[v]:
                        dist[v] = nd
                        heapq.heappush(heap, (nd, v))
        if dist[snk] == INF:  # cannot happen: remaining = owed is always feasible
            raise NettingInfeasible("set-off flow is infeasible")
        dt = dist[snk]
        for v in range(nodes):
            pot[v] += int(min(dist[v], dt))
        sent += _blocking_flows(nodes, src, snk, head, to, cap, cost, pot, need - sent)

    return {key: cap[e ^ 1] for key, e in pair_edge.items()}


def _blocking_flows(
    nodes: int,
    src: int,
    snk: int,
    head: list[list[int]],
    to: list[int],
    cap: list[int],
    cost: list[int],
    pot: list[int],
    limit: int,
) -> int:
    """Dinic max flow (≤ limit) on residual edges with zero reduced cost."""
    total = 0
    while total < limit:
        level = [-1] * nodes
        level[src] = 0
        queue = [src]
        for u in queue:
            for e in head[u]:
                v = to[e]
                if cap[e] and level[v] < 0 and cost[e] + pot[u] - pot[v] == 0:
                    level[v] = level[u] + 1
                    queue.append(v)
        if level[snk] < 0:
            break
        it = [0] * nodes
        while total < limit:
            pushed = _dfs(src, snk, limit - total, level, it, head, to, cap, cost, pot)
            if not pushed:
                break
            total += pushed
    return total


def _dfs(
    src: int,
    snk: int,
    want: int,
    level: list[int],
    it: list[int],
    head: list[list[int]],
    to: list[int],
    cap: list[int],
    cost: list[int],
    pot: list[int],
) -> int:
    """One augmenting path in the level graph (iterative, no recursion limit)."""
    path: list[int] = []
    u = src
    while True:
        if u == snk:
            flow = want
            for e in path:
                flow = min(flow, cap[e])
            for e in path:
                cap[e] -= flow
                cap[e ^ 1] += flow
            return flow
        edges = head[u]
        advanced = False
        while it[u] < len(edges):
            e = edges[it[u]]
            v = to[e]
            if cap[e] and level[v] == level[u] + 1 and cost[e] + pot[u] - pot[v] == 0:
                path.append(e)
                u = v
                advanced = True
                break
            it[u] += 1
        if not advanced:
            if not path:
                return 0
            level[u] = -1  # dead end: prune it
            e = path.pop()
            u = to[e ^ 1]
            it[u] += 1
