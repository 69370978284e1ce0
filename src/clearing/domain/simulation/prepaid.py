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


def run_prepaid(world: World, demand: Demand, scenario: Scenario) -> Outcome:
    """Run the prepaid model over the whole demand."""
    n, days = world.n, world.days
    share = world.pair_share.copy()
    target = _targets(world.capital, share)
    bal = target.copy()
    inflight = np.zeros((n, n), dtype=np.int64)
    arriving: dict[int, Ints] = {}  # day → (buyer, seller) amounts arriving that morning
    status = np.zeros(demand.orders, dtype=np.int8)
    locked = np.zeros(days, dtype=np.int64)
    path = np.zeros((days, n), dtype=np.int64)
    gone = np.zeros(n, dtype=bool)
    losses: dict[str, int] = {}
    topups_count = topups_value = returned = 0
    prefunded = int(bal.sum())
    lowest = int(bal.min())
    buyers, sellers, amounts = demand.buyer.tolist(), demand.seller.tolist(), demand.amount.tolist()
    daily_bad = np.zeros(days, dtype=np.int64)

    for d in range(days):
        landed = arriving.pop(d, None)
        if landed is not None:
            bal += landed
            inflight -= landed
        for g in np.flatnonzero(world.default_day == d):
            k = int(g)
            # Others' prepaid money at the defaulter (and on its way there) is lost; its own goes to its estate.
            for i in np.flatnonzero((bal[:, k] + inflight[:, k]) > 0):
                name = world.names[i]
                losses[name] = losses.get(name, 0) + int(bal[i, k] + inflight[i, k])
            returned += int(bal[k, :].sum() + inflight[k, :].sum())
            bal[:, k] = 0
            bal[k, :] = 0
            inflight[:, k] = 0
            inflight[k, :] = 0
            for later in arriving.values():
                later[:, k] = 0
                later[k, :] = 0
            gone[k] = True
        if d > 0 and d % scenario.prepaid_rebalance_days == 0:
            share = _resplit(demand, world, d, scenario.prepaid_rebalance_days, share)
            target = _targets(world.capital, share)
        target[gone, :] = 0
        target[:, gone] = 0

        lo, hi = int(demand.day_start[d]), int(demand.day_start[d + 1])
        rows = bal.tolist()
        for k in range(lo, hi):
            row, s, a = rows[buyers[k]], sellers[k], amounts[k]
            if row[s] >= a:
                row[s] -= a
            else:
                status[k] = INTERRUPTED
        bal = np.array(rows, dtype=np.int64).reshape(n, n)
        lowest = min(lowest, int(bal.min()))
        daily_bad[d] = int((status[lo:hi] == INTERRUPTED).sum())

        paying = (world.stop_paying_day < 0) | (d < world.stop_paying_day)
        funded = bal + inflight
        gap = target - funded
        send = (funded < scenario.prepaid_refill_below * target) & (gap > 0) & paying[:, None] & ~gone[:, None]
        topup = _within_capital(np.where(send, gap, 0), funded, world.capital)
        send &= topup > 0
        if send.any():
            for i in np.flatnonzero(send.any(axis=1)):
                when = d + int(world.bank_days[i])
                arriving.setdefault(when, np.zeros((n, n), dtype=np.int64))[i, :] += topup[i]
            inflight += topup
            topups_count += int(send.sum())
            topups_value += int(topup.sum())
        locked[d] = int(bal.sum() + inflight.sum())
        path[d] = bal.sum(axis=1)

    return Outcome(
        status=status,
        capital_locked=locked,
        balance_path=path,
        topups_count=topups_count,
        topups_value=topups_value,
        default_losses=losses,
        settled_value=int(demand.amount[status != INTERRUPTED].sum()),
        extra={
            "conservation": {
                "prefunded_day0": prefunded,
                "topups_sent": topups_value,
                "spent_on_orders": int(demand.amount[status != INTERRUPTED].sum()),
                "lost_at_defaults": sum(losses.values()),
                "returned_to_estates": returned,
                "balances_and_in_flight_end": int(bal.sum() + inflight.sum()),
                "lowest_balance": lowest,
            }
        },
        series={"interrupted": daily_bad},
    )
