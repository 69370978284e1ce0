"""How members manage their collateral in the simulated house: forecast-driven targets, daily top-ups.

- Every ``forecast_every_days`` (from day 28, when the forecast has its weekday and event terms) each member asks the
  project's forecast (:func:`clearing.domain.forecast.forecast_member`, the calendar's events,
  ``forecast_paths`` paths) for its top-up advice from a zero balance: the amount that keeps the chance of
  a shortfall at or under 5% over the horizon. The horizon is ``forecast_horizon`` days, by default the
  member's bank delay + 1: it tops up every day, so it must bridge only until today's top-up lands. Its
  collateral target is that amount less its credit line, at most its capital (it cannot post more than it
  has committed). Forecasting weekly rather than daily is the cheap path: one call per member per week.
- Every day each member sends :func:`clearing.domain.headroom.topup_needed` — the exact top-up that gives
  it headroom for its target plus its whole line, so drawn credit is repaid and the target restored — to
  arrive after its bank's delay; a member above ``withdraw_above`` × its target (or above its capital) with
  nothing on the way withdraws down to the target (withdrawals are immediate: the chain pays out at once).
- Before the first forecast the target is the whole capital (nothing is known yet).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import numpy as np

from clearing.domain.forecast import DailyFlow, forecast_member
from clearing.domain.headroom import topup_needed
from clearing.domain.simulation.cycle import CycleStats
from clearing.domain.simulation.demand import World
from clearing.domain.simulation.members import Book
from clearing.domain.simulation.scenario import Scenario

__all__ = ["Treasury", "FIRST_FORECAST_DAY", "HISTORY_DAYS", "TRACKED"]

#: The forecast's weekday term needs 21 days of history and its event terms 28: before that its advice
#: leaves out the weekly pattern, so members keep their whole capital posted until then.
FIRST_FORECAST_DAY = 28
#: Days of history each forecast reads (the model's trend and weekday terms need 56 and 21).
HISTORY_DAYS = 120
#: Members whose forecasts are kept for the forecast-vs-actual plot (the largest by capital).
TRACKED = 3


class Treasury:
    """Top-ups on their way, the members' targets, and what was sent, withdrawn and forecast."""

    def __init__(self, world: World, scenario: Scenario, books: list[Book], stats: CycleStats) -> None:
        self.world, self.s, self.books, self.stats = world, scenario, books, stats
        self.arriving: dict[int, list[tuple[int, int]]] = {}
        self.topups_count = self.topups_value = self.withdrawn = self.returned = 0
        self.landed = 0
        self.calls = {"forecast.forecast_member": 0, "headroom.topup_needed": 0}
        order = np.argsort(-world.capital, kind="stable")
        self.tracked = [int(k) for k in order if world.default_day[k] < 0][:TRACKED]
        shape = (len(self.tracked), world.days)
        self.fc = {q: np.full(shape, np.nan) for q in ("p05", "p50", "p95")}
        self.targets = np.zeros(world.days, dtype=np.int64)

    def land(self, day: int, repayment_days: Callable[[Book], int]) -> None:
        """Top-ups arriving this morning: a deposit repays the oldest drawing first."""
        for k, amount in self.arriving.pop(day, []):
            book = self.books[k]
            book.inflight -= amount
            book.posted += amount
            self.landed += amount
            _, repaid = book.move(amount, day, repayment_days(book))
            self.stats.repaid += repaid

    def leave(self, book: Book) -> None:
        """A platform gone at its default: its collateral and money on the way go back to its estate."""
        k = self.books.index(book)
        for pending in self.arriving.values():
            for item in [x for x in pending if x[0] == k]:
                pending.remove(item)
        self.returned += book.free
        book.balance -= book.free
        book.inflight = 0
        book.gone = True

    def plan(self, day: int) -> None:
        """Re-set each member's target from its forecast (every ``forecast_every_days``)."""
        if day < FIRST_FORECAST_DAY or (day - FIRST_FORECAST_DAY) % self.s.forecast_every_days:
            return
        dates = self.world.dates
        for k, book in enumerate(self.books):
            if book.gone or book.declared:
                continue
            lo = max(0, day - HISTORY_DAYS)
            history = [DailyFlow(dates[t], book.inflow[t], book.outflow[t]) for t in range(lo, day)]
            fc = forecast_member(
                book.name,
                history,
                horizon=self.s.forecast_horizon or min(31, book.bank_days + 1),
                events=self.world.events,
                balance=0,
                n_paths=self.s.forecast_paths,
            )
            self.calls["forecast.forecast_member"] += 1
            need = fc.topup.amount if fc.topup is not None else 0
            book.target = min(book.capital, max(0, need - book.line))
            if k in self.tracked:  # for the forecast-vs-actual plot: the coming week, at the same cost
                week = forecast_member(
                    book.name, history, horizon=self.s.forecast_every_days, events=self.world.events, n_paths=200
                )
                self._track(self.tracked.index(k), day, week.days)

    def _track(self, row: int, day: int, days: Any) -> None:
        for j, fd in enumerate(days[: self.s.forecast_every_days]):
            t = day + j
            if t < self.world.days and fd.day == self.world.dates[0] + timedelta(t):
                self.fc["p05"][row, t] = fd.net_p05
                self.fc["p50"][row, t] = fd.net_p50
                self.fc["p95"][row, t] = fd.net_p95

    def act(self, day: int) -> None:
        """Send each member's top-up (or withdraw its surplus) at the end of the day."""
        stop = self.world.stop_paying_day
        for k, book in enumerate(self.books):
            if book.gone or book.declared or (0 <= stop[k] <= day):
                continue
            amount = topup_needed(book.free + book.inflight, book.line, book.drawn, 0, book.target + book.line)
            self.calls["headroom.topup_needed"] += 1
            if amount > 0:
                self.arriving.setdefault(day + book.bank_days, []).append((k, amount))
                book.inflight += amount
                self.topups_count += 1
                self.topups_value += amount
            elif book.inflight == 0 and (
                book.balance > self.s.withdraw_above * book.target or book.balance > book.capital
            ):
                surplus = book.balance - book.target
                book.balance -= surplus
                book.posted -= surplus
                self.withdrawn += surplus
        self.targets[day] = sum(b.target for b in self.books if not b.gone)

    def series(self) -> dict[str, Any]:
        return {"tracked": [self.world.names[k] for k in self.tracked], "forecast": self.fc, "targets": self.targets}
