"""A member's book in the simulated house: its signed balance, its drawings of credit (oldest first), its
tier and line, and the daily flows its score and forecast read. Plain data; the house model moves it."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from clearing.domain.credit import CreditInputs
from clearing.domain.tiering import TierState

__all__ = ["Book", "Drawing"]


@dataclass
class Drawing:
    """Credit drawn on ``day`` (units still owed)."""

    day: int
    amount: int


@dataclass
class Book:
    """One member (amounts in units; ``balance`` signed as on chain: negative is credit drawn)."""

    name: str
    balance: int
    capital: int
    bank_days: int
    #: Collateral posted: deposits less withdrawals (what bounds a provisional line; trading does not move it).
    posted: int
    #: Collateral the member aims to keep (starts at its whole capital, then the forecast's advice).
    target: int
    line: int = 0
    tier: str = "B"
    state: TierState = field(default_factory=lambda: TierState("B", provisional=True))
    inflight: int = 0
    declared: bool = False
    gone: bool = False
    defaults: int = 0
    repaid_on_time: int = 0
    repaid_late: int = 0
    drawings: deque[Drawing] = field(default_factory=deque)
    #: Creditors it has dealt with (the ``new-counterparty`` rule reads them).
    known: set[str] = field(default_factory=set)
    #: Per day: gross received and paid in settled obligations, and obligations settled as debtor.
    inflow: list[int] = field(default_factory=list)
    outflow: list[int] = field(default_factory=list)
    settled: list[int] = field(default_factory=list)

    @property
    def drawn(self) -> int:
        return max(0, -self.balance)

    @property
    def free(self) -> int:
        return max(0, self.balance)

    @property
    def collateral(self) -> int:
        """The collateral the rescoring reads: ``max(posted, balance, 0)``, as the service's."""
        return max(self.posted, self.balance, 0)

    def move(self, delta: int, day: int, repayment_days: int) -> tuple[int, int]:
        """Change the balance by ``delta``; a fall below zero is a new drawing, a rise repays the oldest first.
        Returns (drawn, repaid) by this move."""
        before = self.drawn
        self.balance += delta
        after = self.drawn
        if after > before:
            self.drawings.append(Drawing(day, after - before))
            return after - before, 0
        repay = before - after
        left = repay
        while left and self.drawings:
            first = self.drawings[0]
            take = min(left, first.amount)
            first.amount -= take
            left -= take
            if first.amount == 0:
                self.drawings.popleft()
                if day - first.day <= repayment_days:
                    self.repaid_on_time += 1
                else:
                    self.repaid_late += 1
        return 0, repay

    def credit_inputs(self, day: int, months: int = 3, month_days: int = 30) -> CreditInputs:
        """What the score reads after day ``day``'s cycle, as the ledger's gatherer does
        (``clearing.adapters.db.credit_inputs``): ``months`` 30-day months of settled volume ending with
        that day (oldest first; months before admission count as 0), settlements as debtor over them,
        repayments, defaults, age in whole days since admission."""
        end = day + 1
        vols = []
        for m in range(months, 0, -1):
            lo, hi = max(0, end - m * month_days), max(0, end - (m - 1) * month_days)
            vols.append(sum(self.inflow[lo:hi]) + sum(self.outflow[lo:hi]))
        return CreditInputs(
            monthly_volumes=tuple(vols),
            settled_on_time=sum(self.settled[max(0, end - months * month_days) : end]),
            settled_late=0,
            disputes=0,
            complaints=0,
            defaults=self.defaults,
            age_days=max(0, day),
            repaid_on_time=self.repaid_on_time,
            repaid_late=self.repaid_late,
        )
