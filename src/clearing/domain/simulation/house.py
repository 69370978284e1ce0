"""The clearing-house model: the same demand and capital through the project's own domain code.

Each day, in order:

1. top-ups sent earlier land (a deposit repays the oldest drawing first);
2. a platform at its default day is gone (declared first if the house had not already);
3. on day 0 each member is scored as the service admits it (provisional), and after every cycle it is
   rescored, as the service's cycle hook does: :func:`clearing.domain.tiering.decide` over
   :func:`clearing.domain.credit.assess`, with the inputs the ledger would give (3 months of 30 days);
4. every ``forecast_every_days`` each member's collateral target is re-set from
   :func:`clearing.domain.forecast.forecast_member`'s top-up advice (see :mod:`.treasury`);
5. each order is checked by the risk rules (:func:`clearing.domain.risk.evaluator`) and, as the
   submission service does, must fit the debtor's headroom left by what it has reserved today
   (:attr:`clearing.domain.headroom.Liquidity.headroom`: collateral + credit line − used − reserved net
   debit, accepted incoming obligations counted against it). It is interrupted when a rule holds it because
   a member is suspended, or when it does not fit (where the service queues it beyond headroom, a platform's
   integration sees "insufficient headroom"). Other holds (rare at these sizes) are taken as released
   within the cycle; as in the service, held orders join neither the velocity window nor the known pairs.
   A tier-C debtor's order goes to its own prepaid escrow (:func:`clearing.domain.risk.settlement_route`),
   outside the cycle;
6. the daily cycle (:mod:`.cycle`): liquidity-saving settlement, netting, set-off, financing quotes;
7. drawings past their deadline and the grace days are declared defaults (:mod:`.cycle`, waterfall);
8. each member tops up or withdraws towards its target (:mod:`.treasury`).

Capital locked = Σ positive balances (collateral posted) + top-ups in flight. Both models start with
every platform's whole capital committed (posted as collateral here, prefunded there).
"""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime, time
from typing import Any

import numpy as np
import numpy.typing as npt

from clearing.domain.headroom import Liquidity
from clearing.domain.risk import History, Hold, MemberRisk, RiskConfig, evaluator, settlement_route
from clearing.domain.simulation.cycle import CycleStats, close_cycle, declare, overdue
from clearing.domain.simulation.demand import Demand, World
from clearing.domain.simulation.members import Book
from clearing.domain.simulation.outcome import INTERRUPTED, Outcome
from clearing.domain.simulation.scenario import Scenario
from clearing.domain.simulation.treasury import Treasury
from clearing.domain.tiering import Position, TieringConfig, decide
from clearing.domain.types import Obligation

__all__ = ["run_clearing"]

_TIER_CODE = {"A": 0, "B": 1, "C": 2}
_WINDOW = RiskConfig().velocity_window_seconds


class _House:
    """The simulated house's state between days (one instance per run)."""

    def __init__(self, world: World, demand: Demand, scenario: Scenario) -> None:
        self.world, self.demand, self.s = world, demand, scenario
        self.tiering = TieringConfig()
        self.risk_config = RiskConfig()
        self.books = [
            Book(name, int(c), int(c), int(b), posted=int(c), target=int(c))
            for name, c, b in zip(world.names, world.capital, world.bank_days, strict=True)
        ]
        self.status = np.zeros(demand.orders, dtype=np.int8)
        self.stats = CycleStats(pool=world.pool)
        self.treasury = Treasury(world, scenario, self.books, self.stats)
        self.held_orders = self.held_for_review = 0
        self.held_rules: dict[str, int] = {}
        self.why: dict[str, int] = {}
        self.escrow_orders = self.escrow_value = 0
        self.calls = {"risk.evaluate": 0, "headroom.Liquidity.headroom": 0, "tiering.decide": 0}
        days, n = world.days, world.n
        self.series: dict[str, npt.NDArray[Any]] = {
            "interrupted": np.zeros(days, dtype=np.int64),
            "locked": np.zeros(days, dtype=np.int64),
            "drawn": np.zeros(days, dtype=np.int64),
            "balance": np.zeros((days, n), dtype=np.int64),
            "tier": np.zeros((days, n), dtype=np.int8),
            "cover2_loss": np.zeros(days, dtype=np.int64),
            "pool": np.zeros(days, dtype=np.int64),
        }
        self.epoch = int(datetime.combine(world.dates[0], time(), tzinfo=UTC).timestamp())

    # ------------------------------------------------------------------ credit
    def rescore(self, day: int) -> None:
        for book in self.books:
            if not book.gone:
                self.rescore_one(book, day)

    def repayment_days(self, book: Book) -> int:
        return self.tiering.policies[book.tier].repayment_days

    # ------------------------------------------------------------------ orders
    def submit(self, day: int) -> list[Obligation]:
        """The day's orders through the risk rules and the headroom check; returns the accepted ones."""
        d, books, names = self.demand, self.books, self.world.names
        lo, hi = int(d.day_start[day]), int(d.day_start[day + 1])
        rules = evaluator(self.risk_config, now=self.epoch + (day + 1) * 86_400)
        risk = [MemberRisk(b.name, b.tier, b.declared) for b in books]
        routes = [settlement_route(b.tier) for b in books]
        known = [frozenset(b.known) for b in books]
        windows: list[deque[tuple[int, int]]] = [deque() for _ in books]
        totals = [0] * len(books)
        debit = [0] * len(books)
        credit = [0] * len(books)
        accepted: list[Obligation] = []
        buyers, sellers = d.buyer[lo:hi].tolist(), d.seller[lo:hi].tolist()
        amounts, seconds = d.amount[lo:hi].tolist(), d.second[lo:hi].tolist()
        for k in range(hi - lo):
            b, s, a, now = buyers[k], sellers[k], amounts[k], seconds[k]
            ob = Obligation(f"{day}.{k}", names[b], names[s], a)
            win = windows[b]
            while win and win[0][0] <= now - _WINDOW:
                totals[b] -= win.popleft()[1]
            holds = rules(ob, risk[b], risk[s], History(known[b], len(win), totals[b]))
            if holds:
                if any(h.rule == "member-suspended" for h in holds):
                    self.stop(lo + k, "member_suspended")
                    continue
                self._count_holds(holds)  # released within the cycle (see the module doc)
            else:  # as the service: a held obligation joins neither the velocity window nor the known pairs
                win.append((now, a))
                totals[b] += a
                if names[s] not in known[b]:
                    books[b].known.add(names[s])
                    known[b] = frozenset(books[b].known)
            if routes[b] == "escrow":  # tier C prepays each order from its wallet: headroom does not limit it
                self.escrow_orders += 1
                self.escrow_value += a
                continue
            book = books[b]
            liq = Liquidity(
                collateral=book.balance,
                free_collateral=book.free,
                credit_line=book.line,
                credit_used=book.drawn,
                reserved_debit=debit[b],
                reserved_credit=credit[b],
                pending_withdrawal=0,
            )
            # The service's check: the order must fit the headroom left by what is already reserved.
            if a > liq.headroom:
                morning = liq.headroom + max(0, debit[b] - credit[b])
                self.stop(lo + k, "order_beyond_headroom" if a > morning else "headroom_used_up")
                continue
            debit[b] += a
            credit[s] += a
            accepted.append(ob)
        self.calls["risk.evaluate"] += hi - lo
        self.calls["headroom.Liquidity.headroom"] += hi - lo
        return accepted

    def stop(self, index: int, why: str) -> None:
        """Interrupt order ``index`` and count why."""
        self.status[index] = INTERRUPTED
        stop = int(self.world.stop_paying_day[self.demand.buyer[index]])
        if 0 <= stop <= int(self.demand.day[index]):
            why = f"buyer_not_paying: {why}"
        self.why[why] = self.why.get(why, 0) + 1

    def _count_holds(self, holds: tuple[Hold, ...]) -> None:
        self.held_orders += 1
        if any(h.release_after is None for h in holds):
            self.held_for_review += 1
        for h in holds:
            self.held_rules[h.rule] = self.held_rules.get(h.rule, 0) + 1

    # ------------------------------------------------------------------ the day
    def day(self, d: int) -> None:
        self.treasury.land(d, self.repayment_days)
        for k in np.flatnonzero(self.world.default_day == d):
            book = self.books[int(k)]
            if not book.declared:
                declare(book, d, self.stats, "gone")
            self.treasury.leave(book)
        if d == 0:
            self.rescore(-1)  # at admission: no history, age 0
        self.treasury.plan(d)
        accepted = self.submit(d)
        first = int(self.demand.day_start[d])
        deferred = close_cycle(accepted, self.books, d, self.stats, self.repayment_days, self.s)
        for oid in deferred:
            self.stop(first + int(oid.split(".")[1]), "deferred_by_settlement")
        self.rescore(d)
        for book in overdue(self.books, d, self.stats, self.repayment_days, self.s.grace_days):
            self.rescore_one(book, d)
        self.treasury.act(d)
        self.record(d)

    def rescore_one(self, book: Book, day: int) -> None:
        """Rescore after day ``day``'s cycle (−1: at admission)."""
        position = Position(collateral=book.collateral, drawn=book.drawn, in_default=book.declared)
        decision = decide(book.credit_inputs(day), book.state, position, config=self.tiering)
        self.calls["tiering.decide"] += 1
        book.tier, book.line, book.state = decision.tier, decision.credit_line, decision.state

    def record(self, d: int) -> None:
        lo, hi = int(self.demand.day_start[d]), int(self.demand.day_start[d + 1])
        s = self.series
        s["interrupted"][d] = int((self.status[lo:hi] == INTERRUPTED).sum())
        s["locked"][d] = sum(b.free + b.inflight for b in self.books if not b.gone)
        s["drawn"][d] = sum(b.drawn for b in self.books if not b.gone)
        s["balance"][d] = [b.balance for b in self.books]
        s["tier"][d] = [3 if b.gone else _TIER_CODE[b.tier] for b in self.books]
        cover = self.stats.cover2(self.books)
        s["cover2_loss"][d] = cover.loss
        s["pool"][d] = self.stats.pool

    def extra(self) -> dict[str, object]:
        st = self.stats
        tiers = self.series["tier"][-1]
        return {
            "credit": {
                "drawn": st.drawn,
                "repaid": st.repaid,
                "drawn_mean": int(self.series["drawn"].sum() // max(1, len(self.series["drawn"]))),
                "drawn_peak": int(self.series["drawn"].max(initial=0)),
                "outstanding_end": int(self.series["drawn"][-1]) if len(self.series["drawn"]) else 0,
            },
            "pool": {"start": self.world.pool, "end": st.pool},
            "interrupted_because": dict(sorted(self.why.items())),
            "escrow": {"orders": self.escrow_orders, "value": self.escrow_value},
            "holds": {"orders": self.held_orders, "for_review": self.held_for_review, "rules": self.held_rules},
            "settlement": {"cycles": sum(st.methods.values()), "methods": st.methods, "deferred": st.deferred},
            "financing": {
                "quotes": st.financing_quotes,
                "advance_offered": st.financing_offered,
                "discount": st.financing_discount,
            },
            "waterfall": st.waterfall,
            "tiers_end": {t: int((tiers == c).sum()) for t, c in (("A", 0), ("B", 1), ("C", 2), ("gone", 3))},
            "domain_calls": {**self.calls, **st.calls, **self.treasury.calls},
            "conservation": {
                "collateral_posted_day0": int(self.world.capital.sum()),
                "topups_landed": self.treasury.landed,
                "withdrawn": self.treasury.withdrawn,
                "written_down": sum(st.losses.values()),
                "returned_to_estates": self.treasury.returned,
                "balances_end": sum(b.balance for b in self.books),
            },
        }


def run_clearing(world: World, demand: Demand, scenario: Scenario) -> Outcome:
    """Run the clearing-house model over the whole demand."""
    house = _House(world, demand, scenario)
    for d in range(world.days):
        house.day(d)
    st, tr = house.stats, house.treasury
    return Outcome(
        status=house.status,
        capital_locked=house.series["locked"],
        balance_path=house.series["balance"],
        topups_count=tr.topups_count,
        topups_value=tr.topups_value,
        withdrawals_value=tr.withdrawn,
        credit_drawn=st.drawn,
        credit_repaid=st.repaid,
        default_losses=dict(st.losses),
        settled_value=st.settled_value,
        netted_value=st.netted_value,
        setoff_value=st.setoff_value,
        extra=house.extra(),
        series={
            **house.series,
            **tr.series(),
            "net": np.array([[i - o for i, o in zip(b.inflow, b.outflow, strict=True)] for b in house.books]).T,
        },
    )
