"""The house's daily cycle and its defaults, through the project's domain code.

- :func:`close_cycle`: :func:`clearing.domain.liquidity.select_settlement` picks what settles within each
  member's available liquidity (headroom was checked per order, so this is "all fit" unless a member's
  liquidity changed), :func:`clearing.domain.netting.net_positions` nets the settled set (and must agree
  with the plan's positions), :func:`clearing.domain.setoff.setoff` measures what set-off alone clears
  without cash (over the day's obligations summed per pair: the same flow problem, far fewer edges),
  and :func:`clearing.domain.financing.quote` prices the advance the pool would give each creditor
  against its day's receivables (priced, not taken: headroom already counts accepted receivables).
- :func:`declare`: a default. The contract's ``allocateDefaultLoss`` waterfall is collateral → pledged
  assets → receivables in committed cycles → the lenders. Its pure part here is
  :class:`clearing.domain.cover2.MemberExposure` (``drawn − collateral``, what falls on the pool); this
  simulation has no pledges, and a daily cycle leaves no committed receivables, so steps 2 and 3 are 0.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from clearing.domain.cover2 import Cover2, MemberExposure, assess
from clearing.domain.financing import AdvanceTerms, quote
from clearing.domain.liquidity import select_settlement
from clearing.domain.netting import net_positions
from clearing.domain.setoff import setoff
from clearing.domain.simulation.members import Book
from clearing.domain.simulation.scenario import Scenario
from clearing.domain.types import Obligation

__all__ = ["CycleStats", "close_cycle", "declare", "overdue"]

LENDERS = "pool lenders"


@dataclass
class CycleStats:
    """Totals over all cycles (units) and the lenders' pool."""

    pool: int
    settled_value: int = 0
    netted_value: int = 0
    setoff_value: int = 0
    drawn: int = 0
    repaid: int = 0
    deferred: int = 0
    methods: dict[str, int] = field(default_factory=dict)
    financing_quotes: int = 0
    financing_offered: int = 0
    financing_discount: int = 0
    losses: dict[str, int] = field(default_factory=dict)
    waterfall: list[dict[str, object]] = field(default_factory=list)
    calls: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(
            ("liquidity.select_settlement", "netting.net_positions", "setoff.setoff", "financing.quote", "cover2"),
            0,
        )
    )

    def cover2(self, books: Sequence[Book]) -> Cover2:
        """Cover 2 today: the two largest exposures (drawn credit less collateral) against the pool."""
        self.calls["cover2"] += 1
        exposures = [MemberExposure(b.name, b.drawn, 0, b.free) for b in books if not b.gone and not b.declared]
        return assess(exposures, resources=max(0, self.pool))


def close_cycle(
    accepted: list[Obligation],
    books: Sequence[Book],
    day: int,
    stats: CycleStats,
    repayment_days: Callable[[Book], int],
    scenario: Scenario,
) -> list[str]:
    """Settle the day's accepted obligations; returns the ids deferred (the model counts them interrupted)."""
    by_name = {b.name: b for b in books}
    for b in books:
        b.inflow.append(0)
        b.outflow.append(0)
        b.settled.append(0)
    if not accepted:
        return []
    available = {b.name: max(0, b.free + max(0, b.line - b.drawn)) for b in books if not b.gone}
    plan = select_settlement(accepted, available, method="heuristic", time_budget=2.0)
    stats.calls["liquidity.select_settlement"] += 1
    stats.methods[plan.method] = stats.methods.get(plan.method, 0) + 1
    settled_ids = set(plan.settled)
    settled = [ob for ob in accepted if ob.id in settled_ids]
    positions = net_positions(settled)
    stats.calls["netting.net_positions"] += 1
    if any(plan.positions.get(m, 0) != p for m, p in positions.items()):  # two domain paths, one answer
        raise AssertionError(f"day {day}: netting and the settlement plan disagree on positions")
    _flows(settled, by_name, stats)
    _setoff(settled, stats)
    _finance(settled, by_name, stats, scenario)
    for name, delta in positions.items():
        book = by_name[name]
        drawn, repaid = book.move(delta, day, repayment_days(book))
        stats.drawn += drawn
        stats.repaid += repaid
    stats.deferred += len(plan.deferred)
    return [x.id for x in plan.deferred]


def _flows(settled: list[Obligation], by_name: dict[str, Book], stats: CycleStats) -> None:
    gross = 0
    for ob in settled:
        by_name[ob.debtor].outflow[-1] += ob.amount
        by_name[ob.debtor].settled[-1] += 1
        by_name[ob.creditor].inflow[-1] += ob.amount
        gross += ob.amount
    cash = sum(max(0, b.outflow[-1] - b.inflow[-1]) for b in by_name.values())
    stats.settled_value += gross
    stats.netted_value += gross - cash


def _setoff(settled: list[Obligation], stats: CycleStats) -> None:
    pairs: dict[tuple[str, str], int] = {}
    for ob in settled:
        key = (ob.debtor, ob.creditor)
        pairs[key] = pairs.get(key, 0) + ob.amount
    result = setoff([Obligation(f"{d}>{c}", d, c, a) for (d, c), a in pairs.items()])
    stats.calls["setoff.setoff"] += 1
    stats.setoff_value += result.total_cleared


def _finance(settled: list[Obligation], by_name: dict[str, Book], stats: CycleStats, scenario: Scenario) -> None:
    terms = AdvanceTerms(haircut_bps=scenario.financing_haircut_bps, rate_bps=scenario.financing_rate_bps)
    owed: dict[tuple[str, str], int] = {}
    for ob in settled:
        key = (ob.creditor, by_name[ob.debtor].tier)
        owed[key] = owed.get(key, 0) + ob.amount
    for (_, tier), amount in owed.items():
        q = quote(amount, tier, days=1, terms=terms)
        stats.calls["financing.quote"] += 1
        stats.financing_quotes += 1
        stats.financing_offered += q.advance
        stats.financing_discount += q.discount


def declare(book: Book, day: int, stats: CycleStats, why: str) -> None:
    """Declare ``book`` in default and run the waterfall: its collateral first, the lenders for the rest."""
    exposure = MemberExposure(book.name, drawn=book.drawn, in_flight_net_debit=0, collateral=book.free)
    loss = book.drawn
    steps = {
        "collateral": min(book.free, loss),
        "pledged_assets": 0,
        "receivables": 0,
        "pool_lenders": exposure.exposure,
    }
    stats.pool -= exposure.exposure
    if exposure.exposure:
        stats.losses[LENDERS] = stats.losses.get(LENDERS, 0) + exposure.exposure
    book.balance += exposure.exposure  # written down: the member now owes the lenders, not the house
    book.drawings.clear()
    book.declared = True
    book.defaults += 1
    stats.waterfall.append({"member": book.name, "day": day, "why": why, "loss": loss, "steps": steps})


def overdue(
    books: Sequence[Book], day: int, stats: CycleStats, repayment_days: Callable[[Book], int], grace: int
) -> list[Book]:
    """Declare every member whose oldest drawing is unpaid past its deadline and the grace days."""
    out = []
    for book in books:
        if book.declared or book.gone or not book.drawings:
            continue
        if day - book.drawings[0].day > repayment_days(book) + grace:
            declare(book, day, stats, "repayment_deadline")
            out.append(book)
    return out
