"""The generated world both models see: platforms, their capital and banks, and every order (seeded).

Orders are drawn day by day: a Poisson count around ``orders_per_platform_day × N`` times the weekday,
growth and calendar-event multipliers; each order picks a (buyer, seller) pair in proportion to the
buyer's appetite, the seller's reach and a per-pair affinity (pairs that never trade have none), and an
amount around the seller's typical ticket (lognormal, plus a Pareto tail of bulk orders). A deteriorating
platform buys ever more and sells ever less over its last ``deterioration_days``, then disappears: its
orders stop at its default day. Amounts are integers of the token's smallest unit.

>>> w, d = generate(Scenario(), platforms=4, days=10, seed=1)
>>> len(w.names), d.amount.dtype.name, bool((d.amount > 0).all()), bool((d.buyer != d.seller).all())
(4, 'int64', True, True)
>>> w2, d2 = generate(Scenario(), platforms=4, days=10, seed=1)
>>> bool((d.amount == d2.amount).all()) and d.orders == d2.orders
True
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt

from clearing.domain.errors import InvalidConfig
from clearing.domain.simulation.scenario import TOKEN, Scenario

__all__ = ["World", "Demand", "generate", "calendar"]

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
#: Days of the summer sale (month, day) inclusive.
_SUMMER = ((7, 15), (7, 21))
_PAYDAY = 25


@dataclass(frozen=True)
class World:
    """The platforms: names, capital (units), bank delay (days), who over-buys, who defaults and when."""

    names: tuple[str, ...]
    dates: tuple[date, ...]
    #: Capital each platform commits to the trade (units): ``capital_days`` × its mean daily purchases.
    capital: Ints
    bank_days: Ints
    net_buyer: npt.NDArray[np.bool_]
    #: Day index of the default (−1: none) and the day it stops sending money (−1: never).
    default_day: Ints
    stop_paying_day: Ints
    #: Expected share of each buyer's purchases by seller (rows sum to 1 where the buyer buys).
    pair_share: Floats
    #: The lenders' pool (units).
    pool: int
    #: Calendar events by date, as the forecast reads them.
    events: dict[date, frozenset[str]]

    @property
    def n(self) -> int:
        return len(self.names)

    @property
    def days(self) -> int:
        return len(self.dates)


@dataclass(frozen=True)
class Demand:
    """Every order, sorted by day then second: parallel arrays; ``day_start[d]:day_start[d+1]`` is day d."""

    day: Ints
    second: Ints
    buyer: Ints
    seller: Ints
    amount: Ints
    day_start: Ints

    @property
    def orders(self) -> int:
        return int(self.amount.shape[0])

    @property
    def value(self) -> int:
        return int(self.amount.sum())


def calendar(start: date, days: int) -> dict[date, frozenset[str]]:
    """The sales events in ``days`` days from ``start``: summer sale (15–21 July), Singles' Day (11 November),
    paydays (the 25th).

    >>> sorted((d.isoformat(), sorted(e)) for d, e in calendar(date(2026, 11, 9), 3).items())
    [('2026-11-11', ['singles_day'])]
    """
    out: dict[date, frozenset[str]] = {}
    for k in range(days):
        d = start + timedelta(k)
        names = set()
        if _SUMMER[0] <= (d.month, d.day) <= _SUMMER[1]:
            names.add("summer_sale")
        if (d.month, d.day) == (11, 11):
            names.add("singles_day")
        if d.day == _PAYDAY:
            names.add("payday")
        if names:
            out[d] = frozenset(names)
    return out


def _day_factors(s: Scenario, dates: tuple[date, ...], events: dict[date, frozenset[str]]) -> Floats:
    out = np.empty(len(dates))
    for k, d in enumerate(dates):
        f = s.weekly[d.weekday()] * (1.0 + s.growth_per_year) ** (k / 365.0)
        for name in events.get(d, ()):
            f *= s.events[name]
        out[k] = f
    return out


def _defaulters(s: Scenario, n: int, days: int, rng: np.random.Generator) -> tuple[Ints, Ints]:
    default_day = np.full(n, -1, dtype=np.int64)
    stop = np.full(n, -1, dtype=np.int64)
    count = int(round(s.defaulter_share * n))
    if s.defaulter_share > 0 and n >= 3:
        count = max(1, count)
    if days < 20 or count == 0:
        return default_day, stop
    who = rng.choice(n, size=min(count, n - 2), replace=False)
    for k in who:
        day = int(rng.integers(days // 2, max(days // 2 + 1, int(days * 0.9)) + 1))
        default_day[k] = min(day, days - 1)
        stop[k] = max(0, default_day[k] - s.stop_paying_days)
    return default_day, stop


def _links(s: Scenario, n: int, rng: np.random.Generator) -> npt.NDArray[np.bool_]:
    """Who buys from whom: each pair with ``connect_probability``; every platform buys and sells somewhere."""
    links = rng.random((n, n)) < s.connect_probability
    np.fill_diagonal(links, False)
    for i in range(n):
        if not links[i].any():
            links[i, (i + 1 + int(rng.integers(0, n - 1))) % n] = True
        if not links[:, i].any():
            links[(i + 1 + int(rng.integers(0, n - 1))) % n, i] = True
    return links


def generate(scenario: Scenario, *, platforms: int, days: int, seed: int) -> tuple[World, Demand]:
    """The world and its orders for ``platforms`` platforms over ``days`` days; the same seed, the same orders."""
    if type(platforms) is not int or platforms < 2:
        raise InvalidConfig(f"platforms must be an integer ≥ 2, got {platforms!r}", field="platforms")
    if type(days) is not int or days < 1:
        raise InvalidConfig(f"days must be an integer ≥ 1, got {days!r}", field="days")
    s, n = scenario, platforms
    rng = np.random.default_rng(seed)
    dates = tuple(s.start + timedelta(k) for k in range(days))
    events = calendar(s.start, days)
    activity = rng.lognormal(0.0, s.size_sigma, n)
    activity /= activity.mean()
    net_buyer = rng.random(n) < s.net_buyer_share
    buy = activity * np.where(net_buyer, s.net_buyer_buy, 1.0)
    sell = activity * np.where(net_buyer, s.net_buyer_sell, 1.0)
    weights = buy[:, None] * sell[None, :] * rng.lognormal(0.0, 1.0, (n, n)) * _links(s, n, rng)
    ticket = s.ticket_median_tokens * rng.lognormal(0.0, s.ticket_sigma_seller, n)
    bank_days = np.where(rng.random(n) < s.slow_bank_share, s.slow_bank_days, s.fast_bank_days).astype(np.int64)
    default_day, stop = _defaulters(s, n, days, rng)
    factors = _day_factors(s, dates, events)
    base = s.orders_per_platform_day * n

    cols: list[list[Ints]] = [[], [], [], [], []]
    starts = np.zeros(days + 1, dtype=np.int64)
    for d in range(days):
        w = _day_weights(weights, default_day, d, s.deterioration_days)
        total = float(w.sum())
        count = int(rng.poisson(base * factors[d] * total / float(weights.sum()))) if total > 0 else 0
        pair = rng.choice(n * n, size=count, p=(w / total).ravel()) if count else np.zeros(0, dtype=np.int64)
        b, sl = pair // n, pair % n
        tokens = ticket[sl] * rng.lognormal(0.0, s.ticket_sigma_order, count)
        bulk = rng.random(count) < s.bulk_share
        tokens = np.where(bulk, ticket[sl] * s.bulk_scale * (1.0 + rng.pareto(s.bulk_alpha, count)), tokens)
        amount = np.maximum(1, np.rint(tokens * TOKEN)).astype(np.int64)
        sec = np.sort(rng.integers(0, 86_400, count))
        for col, values in zip(cols, (np.full(count, d), sec, b, sl, amount), strict=True):
            col.append(values.astype(np.int64))
        starts[d + 1] = starts[d] + count
    day_a, sec_a, buyer, seller, amount = (np.concatenate(c) if c else np.zeros(0, np.int64) for c in cols)

    purchases = np.bincount(buyer, weights=amount.astype(np.float64), minlength=n)
    capital = np.rint(s.capital_days * purchases / days).astype(np.int64)
    value_w = weights * ticket[None, :]
    rows = value_w.sum(axis=1, keepdims=True)
    share = np.divide(value_w, rows, out=np.zeros_like(value_w), where=rows > 0)
    world = World(
        names=tuple(f"p{k:03d}" for k in range(n)),
        dates=dates,
        capital=capital,
        bank_days=bank_days,
        net_buyer=net_buyer,
        default_day=default_day,
        stop_paying_day=stop,
        pair_share=share,
        pool=int(round(s.pool_days * float(purchases.sum()) / days)),
        events=events,
    )
    return world, Demand(day_a, sec_a, buyer, seller, amount, starts)


def _day_weights(weights: Floats, default_day: Ints, d: int, ramp_days: int) -> Floats:
    """Pair weights on day ``d``: a deteriorating platform buys up to twice as much and sells down to 30%
    over its last ``ramp_days``; from its default day it trades no more."""
    if not (default_day >= 0).any():
        return weights
    w = weights.copy()
    for k in np.flatnonzero(default_day >= 0):
        left = int(default_day[k]) - d
        if left <= 0:
            w[k, :] = 0.0
            w[:, k] = 0.0
        elif left < ramp_days:
            ramp = 1.0 - left / ramp_days
            w[k, :] *= 1.0 + ramp
            w[:, k] *= 1.0 - 0.7 * ramp
    return w
