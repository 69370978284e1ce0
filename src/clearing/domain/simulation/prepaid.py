"""The prepaid model: every buyer prefunds a balance at each seller it buys from.

A platform splits its capital across its sellers in proportion to what it expects to buy from each
(re-split every ``prepaid_rebalance_days`` on the demand it saw, interrupted orders included). An order
completes when the buyer's balance at that seller covers it and is interrupted otherwise ("insufficient
balance"). At the end of each day every balance below ``prepaid_refill_below`` of its target is refilled
to the target from the platform's bank; the money arrives ``bank_days`` later (T+1 or T+3) and is locked
while in flight. A platform that has stopped paying sends nothing. When a platform defaults, the balances
others prefunded at it (and what was on its way to it) are lost by them; its own balances go to its estate.

Capital locked = Σ balances + money in flight; it never exceeds the capital: targets sum to at most it, and a
buyer's top-ups are cut pro rata when its balances and money in flight would pass it.
"""

from __future__ import annotations

import numpy as np

from clearing.domain.simulation.demand import Demand, World
from clearing.domain.simulation.outcome import INTERRUPTED, Ints, Outcome
from clearing.domain.simulation.scenario import Scenario

__all__ = ["run_prepaid"]


def _targets(capital: Ints, share: np.ndarray) -> Ints:
    """Each pair's target balance: the buyer's capital × the seller's share, rounded down (Σ ≤ capital)."""
    out: Ints = np.floor(capital[:, None].astype(np.float64) * share).astype(np.int64)
    return out


def _within_capital(topup: Ints, funded: Ints, capital: Ints) -> Ints:
    """Top-ups cut pro rata so that a buyer's balances and money in flight never exceed its capital (after a
    re-split, balances above their new targets stay until spent: a seller does not hand prepaid money back)."""
    room = np.maximum(0, capital - funded.sum(axis=1))
    want = topup.sum(axis=1)
    over = want > room
    if not over.any():
        return topup
    scale = np.where(over, room / np.where(want > 0, want, 1), 1.0)
    return np.where(over[:, None], np.floor(topup * scale[:, None]).astype(np.int64), topup)


def _resplit(demand: Demand, world: World, d: int, window: int, share: np.ndarray) -> np.ndarray:
    """Shares from the demand of the last ``window`` days (a buyer with none keeps its shares)."""
    lo, hi = demand.day_start[max(0, d - window)], demand.day_start[d]
    n = world.n
    vol = np.zeros((n, n))
    np.add.at(vol, (demand.buyer[lo:hi], demand.seller[lo:hi]), demand.amount[lo:hi].astype(np.float64))
    rows = vol.sum(axis=1, keepdims=True)
    return np.where(rows > 0, vol / np.where(rows > 0, rows, 1.0), share)


class _Prepaid:
    """The prepaid model's state between days: balances, money in flight, targets (one instance per run)."""

    def __init__(self, world: World, demand: Demand, scenario: Scenario) -> None:
        self.world, self.demand, self.s = world, demand, scenario
        n = world.n
        self.share = world.pair_share.copy()
        self.target = _targets(world.capital, self.share)
        self.bal = self.target.copy()
        self.inflight = np.zeros((n, n), dtype=np.int64)
        self.arriving: dict[int, Ints] = {}  # day → (buyer, seller) amounts arriving that morning
        self.status = np.zeros(demand.orders, dtype=np.int8)
        self.locked = np.zeros(world.days, dtype=np.int64)
        self.path = np.zeros((world.days, n), dtype=np.int64)
        self.daily_bad = np.zeros(world.days, dtype=np.int64)
        self.gone = np.zeros(n, dtype=bool)
        self.losses: dict[str, int] = {}
        self.topups_count = self.topups_value = self.returned = 0
        self.prefunded, self.lowest = int(self.bal.sum()), int(self.bal.min())
        self.orders = demand.buyer.tolist(), demand.seller.tolist(), demand.amount.tolist()

    def default(self, k: int) -> None:
        """Platform ``k`` defaults: others' prepaid money at it (and on its way there) is lost; its own goes to its
        estate."""
        bal, inflight = self.bal, self.inflight
        for i in np.flatnonzero((bal[:, k] + inflight[:, k]) > 0):
            name = self.world.names[i]
            self.losses[name] = self.losses.get(name, 0) + int(bal[i, k] + inflight[i, k])
        self.returned += int(bal[k, :].sum() + inflight[k, :].sum())
        for m in (bal, inflight, *self.arriving.values()):
            m[:, k] = 0
            m[k, :] = 0
        self.gone[k] = True

    def orders_of(self, d: int) -> None:
        """The day's orders against the balances, in time order."""
        buyers, sellers, amounts = self.orders
        lo, hi = int(self.demand.day_start[d]), int(self.demand.day_start[d + 1])
        rows = self.bal.tolist()
        for k in range(lo, hi):
            row, s, a = rows[buyers[k]], sellers[k], amounts[k]
            if row[s] >= a:
                row[s] -= a
            else:
                self.status[k] = INTERRUPTED
        self.bal = np.array(rows, dtype=np.int64).reshape(self.world.n, self.world.n)
        self.lowest = min(self.lowest, int(self.bal.min()))
        self.daily_bad[d] = int((self.status[lo:hi] == INTERRUPTED).sum())

    def refill(self, d: int) -> None:
        """End of day: balances below their refill point are topped up to target, to land after the bank delay."""
        w = self.world
        paying = (w.stop_paying_day < 0) | (d < w.stop_paying_day)
        funded = self.bal + self.inflight
        gap = self.target - funded
        send = (funded < self.s.prepaid_refill_below * self.target) & (gap > 0) & paying[:, None] & ~self.gone[:, None]
        topup = _within_capital(np.where(send, gap, 0), funded, w.capital)
        send &= topup > 0
        if send.any():
            for i in np.flatnonzero(send.any(axis=1)):
                when = d + int(w.bank_days[i])
                self.arriving.setdefault(when, np.zeros((w.n, w.n), dtype=np.int64))[i, :] += topup[i]
            self.inflight += topup
            self.topups_count += int(send.sum())
            self.topups_value += int(topup.sum())

    def day(self, d: int) -> None:
        landed = self.arriving.pop(d, None)
        if landed is not None:
            self.bal += landed
            self.inflight -= landed
        for k in np.flatnonzero(self.world.default_day == d):
            self.default(int(k))
        if d > 0 and d % self.s.prepaid_rebalance_days == 0:
            self.share = _resplit(self.demand, self.world, d, self.s.prepaid_rebalance_days, self.share)
            self.target = _targets(self.world.capital, self.share)
        self.target[self.gone, :] = 0
        self.target[:, self.gone] = 0
        self.orders_of(d)
        self.refill(d)
        self.locked[d] = int(self.bal.sum() + self.inflight.sum())
        self.path[d] = self.bal.sum(axis=1)

    def outcome(self) -> Outcome:
        spent = int(self.demand.amount[self.status != INTERRUPTED].sum())
        return Outcome(
            status=self.status,
            capital_locked=self.locked,
            balance_path=self.path,
            topups_count=self.topups_count,
            topups_value=self.topups_value,
            default_losses=self.losses,
            settled_value=spent,
            extra={
                "conservation": {
                    "prefunded_day0": self.prefunded,
                    "topups_sent": self.topups_value,
                    "spent_on_orders": spent,
                    "lost_at_defaults": sum(self.losses.values()),
                    "returned_to_estates": self.returned,
                    "balances_and_in_flight_end": int(self.bal.sum() + self.inflight.sum()),
                    "lowest_balance": self.lowest,
                }
            },
            series={"interrupted": self.daily_bad},
        )


def run_prepaid(world: World, demand: Demand, scenario: Scenario) -> Outcome:
    """Run the prepaid model over the whole demand."""
    model = _Prepaid(world, demand, scenario)
    for d in range(world.days):
        model.day(d)
    return model.outcome()
