"""Cover 2: the loss if the two members with the largest exposure default together, against the pool.

PFMI Principle 4 (credit risk) asks a systemically important payment system to
hold resources that cover its largest credit exposures; a central counterparty
must cover the default of the two participants (and their affiliates) that
would cause the largest exposure in extreme but plausible conditions, "Cover 2".
In this house a member's default falls on the liquidity pool: credit it drew
was lent by the pool's lenders, and net debit it took on in the open cycle is
settled against its credit line, which the pool funds as well. So:

- a member's **exposure** is ``max(0, drawn + in_flight_net_debit − collateral)``:
  what the pool loses if the member pays nothing more, after its own collateral
  (the first layer of the default waterfall) is taken;
- the **loss** is the sum of the two largest exposures (ties broken by name, so
  the same ledger always names the same two members);
- the **resources** are the pool's equity: lenders bear the last loss;
- Cover 2 is **covered** when ``loss ≤ resources``; the **coverage ratio** is
  ``resources × 10 000 // loss`` basis points (None when nothing is exposed) and
  the **surplus** is ``resources − loss`` (negative: the shortfall).

Pure: plain integers in (token units, any size), a :class:`Cover2` out. The service
reads the inputs from the ledger's on-chain mirror and the pool from the chain.

>>> a = MemberExposure("alpha", drawn=800, in_flight_net_debit=150, collateral=0)
>>> b = MemberExposure("beta", drawn=0, in_flight_net_debit=900, collateral=100)
>>> c = MemberExposure("gamma", drawn=0, in_flight_net_debit=50, collateral=10_000)
>>> r = assess([a, b, c], resources=1_500)
>>> [m.name for m in r.members], r.loss, r.covered, r.coverage_bps, r.surplus
(['alpha', 'beta'], 1750, False, 8571, -250)
>>> assess([c], resources=0).members, assess([c], resources=0).coverage_bps
((), None)
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass

from clearing.errors import ValidationError

__all__ = ["BPS", "Cover2", "MemberExposure", "assess"]

#: Basis points in one: a ratio of 10 000 bps is exactly covered.
BPS = 10_000
#: How many simultaneous defaults the resources must survive.
DEFAULTERS = 2


def _amount(name: str, value: object, field: str) -> int:
    # bool is an int to Python, never an amount; amounts are exact integers, never floats.
    if type(value) is not int:
        raise ValidationError(f"{field} must be an integer, got {type(value).__name__}", field=field, member=name)
    if value < 0:
        raise ValidationError(f"{field} must be ≥ 0, got {value}", field=field, member=name, **{field: value})
    return value


@dataclass(frozen=True, slots=True)
class MemberExposure:
    """One member's numbers, as the pool would meet its default (token units, all ≥ 0).

    ``drawn``: credit already drawn from the pool (``max(0, −balance)`` on chain);
    ``in_flight_net_debit``: net debit it has reserved in the open cycle, which
    settles against its credit line if it cannot pay; ``collateral``: what the house
    takes first (``max(0, balance)`` on chain, less withdrawals under way).
    """

    name: str
    drawn: int
    in_flight_net_debit: int
    collateral: int

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValidationError("a member's name must be a non-empty string", field="name")
        for field in ("drawn", "in_flight_net_debit", "collateral"):
            _amount(self.name, getattr(self, field), field)

    @property
    def exposure(self) -> int:
        """What its default costs the pool: ``max(0, drawn + in_flight_net_debit − collateral)``.

        >>> MemberExposure("a", drawn=0, in_flight_net_debit=300, collateral=1_000).exposure
        0
        """
        return max(0, self.drawn + self.in_flight_net_debit - self.collateral)


@dataclass(frozen=True, slots=True)
class Cover2:
    """The two largest exposures and whether the pool's resources cover their joint default."""

    #: The (at most) two members with the largest positive exposure, largest first (ties: by name).
    members: tuple[MemberExposure, ...]
    #: Σ of their exposures: what their joint default costs the pool.
    loss: int
    #: The pool's equity, which lenders put at risk.
    resources: int
    #: ``loss ≤ resources``.
    covered: bool
    #: ``resources × 10 000 // loss`` (rounded down: never shows more cover than there is); None when loss is 0.
    coverage_bps: int | None

    @property
    def surplus(self) -> int:
        """``resources − loss``: what would be left (negative: the shortfall lenders could not absorb)."""
        return self.resources - self.loss


def assess(members: Iterable[MemberExposure], resources: int) -> Cover2:
    """Cover 2 over every member: the two largest exposures against ``resources``.

    Members with no exposure are never named (a pair of one, or none, when fewer are
    exposed); a member named twice is refused, since its exposure would count twice.

    >>> assess([], resources=0)
    Cover2(members=(), loss=0, resources=0, covered=True, coverage_bps=None)
    >>> x, y = MemberExposure("x", 5, 0, 0), MemberExposure("y", 5, 0, 0)
    >>> [m.name for m in assess([y, x, MemberExposure("w", 4, 0, 0)], 10).members]
    ['x', 'y']
    >>> assess([x, x], 10)
    Traceback (most recent call last):
    ...
    clearing.errors.ValidationError: member 'x' appears more than once
    """
    resources = _amount("pool", resources, "resources")
    seen: set[str] = set()
    exposed: list[MemberExposure] = []
    for m in members:
        if m.name in seen:
            raise ValidationError(f"member {m.name!r} appears more than once", field="members", member=m.name)
        seen.add(m.name)
        if m.exposure > 0:
            exposed.append(m)
    top = tuple(heapq.nsmallest(DEFAULTERS, exposed, key=lambda m: (-m.exposure, m.name)))
    loss = sum(m.exposure for m in top)
    return Cover2(
        members=top,
        loss=loss,
        resources=resources,
        covered=loss <= resources,
        coverage_bps=resources * BPS // loss if loss else None,
    )
