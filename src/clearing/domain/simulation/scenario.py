"""The scenario a simulation runs: every parameter, its default, and the checks a TOML override passes.

The defaults describe digital-goods platforms reselling each other's goods (gift cards, game credit,
top-ups): tickets of tens of tokens with a heavy tail of bulk orders, busier weekends, growth over the
year, a summer sale, Singles' Day and paydays, a fifth of the platforms structurally net buyers, bank
transfers that take one or three business days, and a few platforms that deteriorate until they default.
They were written down before any model ran and are not tuned to a result (``docs/simulation.md``).

>>> s = Scenario.from_mapping({"orders_per_platform_day": 10, "events": {"singles_day": 3.0}})
>>> s.orders_per_platform_day, s.events["singles_day"], s.events["summer_sale"]
(10, 3.0, 2.0)
>>> Scenario.from_mapping({"order_per_platform_day": 10})
Traceback (most recent call last):
...
clearing.domain.errors.InvalidConfig: unknown scenario key 'order_per_platform_day'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date
from typing import Any

from clearing.domain.errors import InvalidConfig

__all__ = ["TOKEN", "Scenario", "EVENT_NAMES"]

#: Smallest units per token (a 6-decimal stablecoin).
TOKEN = 10**6
#: Calendar events and what each multiplies the day's demand by (defaults).
EVENT_NAMES = ("summer_sale", "singles_day", "payday")


def _default_events() -> dict[str, float]:
    return {"summer_sale": 2.0, "singles_day": 4.0, "payday": 1.3}


def _default_weekly() -> tuple[float, ...]:
    # Monday .. Sunday: digital goods sell most at the weekend.
    return (0.85, 0.9, 0.95, 1.0, 1.1, 1.3, 1.25)


@dataclass(frozen=True)
class Scenario:
    """Every knob of the generated world and of the two models' policies (money in token units × 10^6)."""

    start: date = date(2026, 1, 1)
    #: Mean orders each platform places per day at the start (before seasonality, events and growth).
    orders_per_platform_day: float = 50.0
    #: Yearly growth of demand (0.4: 40% more orders a year later).
    growth_per_year: float = 0.4
    weekly: tuple[float, ...] = field(default_factory=_default_weekly)
    events: Mapping[str, float] = field(default_factory=_default_events)
    #: Platform size: lognormal spread of activity across platforms (log-sd).
    size_sigma: float = 0.8
    #: Median order in tokens, the spread of sellers' typical tickets and of orders around them (log-sd).
    ticket_median_tokens: float = 50.0
    ticket_sigma_seller: float = 0.7
    ticket_sigma_order: float = 1.0
    #: Share of orders that are bulk (Pareto tail, shape ``bulk_alpha``, ``bulk_scale`` × the ticket).
    bulk_share: float = 0.02
    bulk_alpha: float = 1.5
    bulk_scale: float = 20.0
    #: Probability that a platform buys from a given other platform at all.
    connect_probability: float = 0.5
    #: Share of platforms that are structural net buyers, and how much they over-buy / under-sell.
    net_buyer_share: float = 0.2
    net_buyer_buy: float = 2.0
    net_buyer_sell: float = 0.5
    #: Share of platforms whose bank takes ``slow_bank_days`` instead of ``fast_bank_days``.
    slow_bank_share: float = 0.3
    fast_bank_days: int = 1
    slow_bank_days: int = 3
    #: Share of platforms that deteriorate until they default (at least one when > 0), and how.
    defaulter_share: float = 0.04
    deterioration_days: int = 45
    #: Days before its default a deteriorating platform stops sending money.
    stop_paying_days: int = 20
    #: Capital each platform commits to inter-platform trade: this many days of its mean purchases.
    capital_days: float = 7.0
    #: Prepaid: balances are refilled to their target when below this share of it; re-split monthly.
    prepaid_refill_below: float = 1.0
    prepaid_rebalance_days: int = 30
    #: Clearing house: the lenders' pool, as days of all platforms' mean purchases.
    pool_days: float = 3.0
    #: Clearing house: forecast every this many days, over this horizon in days. 0: each member's bank delay
    #: + 1 day, the time until money it sends today can be used; members top up daily, so a longer horizon
    #: (the service's default advice is for 14 days without any top-up) would count the same outflow twice.
    forecast_every_days: int = 7
    forecast_horizon: int = 0
    forecast_paths: int = 500
    #: Clearing house: a member withdraws collateral above this multiple of its target.
    withdraw_above: float = 1.5
    #: Receivables financing terms (haircut per debtor tier, annual rate), in basis points.
    financing_haircut_bps: Mapping[str, int] = field(default_factory=lambda: {"A": 500, "B": 1_500, "C": 10_000})
    financing_rate_bps: int = 1_200
    #: Days after a drawing's deadline before the house declares a default (``defaults.grace_days``).
    grace_days: int = 3

    @classmethod
    def from_mapping(cls, overrides: Mapping[str, Any], base: Scenario | None = None) -> Scenario:
        """``base`` (default: the defaults) with ``overrides`` applied, checked; an unknown key is refused by name."""
        base = base or cls()
        known = {f.name for f in fields(cls)}
        changes: dict[str, Any] = {}
        for key, value in overrides.items():
            if key not in known:
                raise InvalidConfig(f"unknown scenario key {key!r}", field=key)
            if key == "events":
                if not isinstance(value, Mapping):
                    raise InvalidConfig("events must be a table of event = multiplier", field="events")
                for name in value:
                    if name not in EVENT_NAMES:
                        raise InvalidConfig(f"unknown scenario key 'events.{name}'", field=f"events.{name}")
                value = {**base.events, **value}
            elif key == "financing_haircut_bps":
                if not isinstance(value, Mapping):
                    raise InvalidConfig("financing_haircut_bps must be a table tier = bps", field=key)
                for name in value:
                    if name not in ("A", "B", "C"):
                        raise InvalidConfig(f"unknown scenario key '{key}.{name}'", field=f"{key}.{name}")
                value = {**base.financing_haircut_bps, **value}
            elif key == "weekly":
                value = tuple(value) if isinstance(value, (list, tuple)) else value
            changes[key] = value
        scenario = replace(base, **changes)
        scenario.validate()
        return scenario

    def validate(self) -> None:
        """Raise :class:`~clearing.domain.errors.InvalidConfig` naming the first bad field."""
        if not isinstance(self.start, date):
            raise InvalidConfig(f"start must be a date, got {self.start!r}", field="start")
        for f in fields(self):
            value = getattr(self, f.name)
            if f.type in ("float", "int"):
                _number(f.name, value, integer=f.type == "int")
        if not (isinstance(self.weekly, tuple) and len(self.weekly) == 7):
            raise InvalidConfig("weekly must be a list of 7 multipliers, Monday first", field="weekly")
        for k, v in enumerate(self.weekly):
            _number(f"weekly[{k}]", v, integer=False, positive=True)
        for name, v in self.events.items():
            _number(f"events.{name}", v, integer=False, positive=True)
        for name in ("orders_per_platform_day", "ticket_median_tokens", "bulk_scale", "bulk_alpha", "capital_days"):
            _number(name, getattr(self, name), integer=False, positive=True)
        for name in (
            "connect_probability",
            "net_buyer_share",
            "slow_bank_share",
            "defaulter_share",
            "bulk_share",
            "prepaid_refill_below",
        ):
            if not 0 <= getattr(self, name) <= 1:
                raise InvalidConfig(f"{name} must be within 0..1, got {getattr(self, name)!r}", field=name)
        for name in (
            "fast_bank_days",
            "slow_bank_days",
            "prepaid_rebalance_days",
            "forecast_every_days",
            "forecast_paths",
        ):
            _number(name, getattr(self, name), integer=True, positive=True)
        if not 0 <= self.forecast_horizon <= 31:
            raise InvalidConfig(
                f"forecast_horizon must be within 0..31 (0: bank delay + 1), got {self.forecast_horizon!r}",
                field="forecast_horizon",
            )
        if self.withdraw_above < 1:
            raise InvalidConfig(f"withdraw_above must be ≥ 1, got {self.withdraw_above!r}", field="withdraw_above")
        for tier, bps in self.financing_haircut_bps.items():
            if type(bps) is not int or not 0 <= bps <= 10_000:
                raise InvalidConfig(f"financing_haircut_bps.{tier} must be an int within 0..10000", field=tier)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-able values (the report records the scenario it ran)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, date):
                value = value.isoformat()
            elif isinstance(value, Mapping):
                value = dict(value)
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out


def _number(name: str, value: object, *, integer: bool, positive: bool = False) -> None:
    ok_type = type(value) is int if integer else type(value) in (int, float)
    if not ok_type:
        kind = "an integer" if integer else "a number"
        raise InvalidConfig(f"{name} must be {kind}, got {value!r}", field=name)
    assert isinstance(value, (int, float))
    if value < 0 or (positive and value == 0) or value != value:
        raise InvalidConfig(f"{name} must be {'> 0' if positive else '≥ 0'}, got {value!r}", field=name)
