"""The indexed instance every solver works on, and the chosen set they pass around.

Solvers never touch :class:`~clearing.domain.types.Obligation` objects or
member names in their loops: :class:`Problem` numbers members ``0..m-1``
(sorted names) and obligations ``0..n-1`` (input order) once, with exact
integer amounts, and :class:`State` keeps a chosen set's net debits in step
on every toggle, so checking a limit is one comparison instead of a re-sum.

>>> from clearing.domain.types import Obligation
>>> p = Problem.from_input([Obligation("1", "a", "b", 7), Obligation("2", "a", "c", 5, priority=True)],
...                        {"a": 6}, fifo=False)
>>> p.names, p.queue[0]  # a's queue: its priority obligation first
(['a', 'b', 'c'], [1, 0])
>>> s = p.state_from([1])
>>> s.net, s.value, s.feasible()
([5, 0, -5], 5, True)
>>> s.toggle_in(0)
>>> s.net, s.feasible()
([12, -7, -5], False)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from clearing.domain.errors import InvalidLiquidity
from clearing.domain.netting import validate_obligations
from clearing.domain.types import Obligation

__all__ = ["Problem", "State", "validate_available"]


def validate_available(available: Mapping[str, int]) -> dict[str, int]:
    """Check the liquidity map (non-empty string members, integer amounts ≥ 0) and copy it.

    >>> validate_available({"a": -1})
    Traceback (most recent call last):
    ...
    clearing.domain.errors.InvalidLiquidity: available['a'] must be ≥ 0, got -1
    """
    if not isinstance(available, Mapping):
        raise InvalidLiquidity("available must be a mapping of member to amount", field="available")
    out: dict[str, int] = {}
    for member, amount in available.items():
        if not isinstance(member, str) or not member:
            raise InvalidLiquidity(f"available: member must be a non-empty string, got {member!r}", field="member")
        if type(amount) is not int:
            raise InvalidLiquidity(
                f"available[{member!r}] must be an integer, got {type(amount).__name__}",
                field="available",
                member=member,
            )
        if amount < 0:
            raise InvalidLiquidity(f"available[{member!r}] must be ≥ 0, got {amount}", field="available", member=member)
        out[member] = amount
    return out


class Problem:
    """Indexed instance: members 0..m-1, obligations 0..n-1, exact ints.

    Plain lists rather than numpy arrays: the local searches touch one
    entry at a time, where list indexing is several times faster, and the
    amounts may exceed int64. Read-only once built.
    """

    def __init__(self, obs: tuple[Obligation, ...], available: dict[str, int], fifo: bool) -> None:
        self.obs = obs
        self.fifo = fifo
        names = sorted({o.debtor for o in obs} | {o.creditor for o in obs})
        self.names = names
        index = {name: k for k, name in enumerate(names)}
        self.m = m = len(names)
        self.n = n = len(obs)
        self.d = [index[o.debtor] for o in obs]
        self.c = [index[o.creditor] for o in obs]
        self.a = [o.amount for o in obs]
        self.prio = [o.priority for o in obs]
        self.avail = [available.get(name, 0) for name in names]
        self.total = sum(self.a)
        # Each debtor's queue: priority obligations first, then the rest, each in input order.
        self.queue: list[list[int]] = [[] for _ in range(m)]
        for i in sorted(range(n), key=lambda i: (not self.prio[i], i)):
            self.queue[self.d[i]].append(i)
        self.qpos = [0] * n
        for q in self.queue:
            for k, i in enumerate(q):
                self.qpos[i] = k
        self.n_prio = [sum(1 for i in q if self.prio[i]) for q in self.queue]
        self.gross_debit = [0] * m
        for i in range(n):
            self.gross_debit[self.d[i]] += self.a[i]
        # Greedy order within a member: priority first, then larger amounts, then input order.
        self.out_sorted = [sorted(q, key=lambda i: (not self.prio[i], -self.a[i], i)) for q in self.queue]

    @classmethod
    def from_input(cls, obligations: Iterable[Obligation], available: Mapping[str, int], fifo: bool) -> Problem:
        """Validate the caller's obligations, then its liquidity map, and index them."""
        return cls(validate_obligations(obligations), validate_available(available), bool(fifo))

    def state_empty(self) -> State:
        return State(self, [False] * self.n, [0] * self.m, 0)

    def state_all(self) -> State:
        s = self.state_empty()
        for i in range(self.n):
            s.toggle_in(i)
        return s

    def state_from(self, chosen: Iterable[int]) -> State:
        s = self.state_empty()
        for i in chosen:
            s.toggle_in(i)
        return s


class State:
    """A chosen set with its exact net debits, kept in step on every toggle."""

    __slots__ = ("p", "inset", "net", "value", "count_in", "prio_in")

    def __init__(self, p: Problem, inset: list[bool], net: list[int], value: int) -> None:
        self.p = p
        self.inset = inset
        self.net = net  # net debit per member: payments − receipts
        self.value = value
        self.count_in = [0] * p.m
        self.prio_in = [0] * p.m

    def copy(self) -> State:
        s = State(self.p, list(self.inset), list(self.net), self.value)
        s.count_in = list(self.count_in)
        s.prio_in = list(self.prio_in)
        return s

    def toggle_in(self, i: int) -> None:
        p = self.p
        if self.inset[i]:
            return
        self.inset[i] = True
        a, k = p.a[i], p.d[i]
        self.net[k] += a
        self.net[p.c[i]] -= a
        self.value += a
        self.count_in[k] += 1
        if p.prio[i]:
            self.prio_in[k] += 1

    def toggle_out(self, i: int) -> None:
        p = self.p
        if not self.inset[i]:
            return
        self.inset[i] = False
        a, k = p.a[i], p.d[i]
        self.net[k] -= a
        self.net[p.c[i]] += a
        self.value -= a
        self.count_in[k] -= 1
        if p.prio[i]:
            self.prio_in[k] -= 1

    def feasible(self) -> bool:
        """Every member's net debit within its available liquidity (the queue order is checked apart)."""
        return all(nd <= av for nd, av in zip(self.net, self.p.avail, strict=True))
