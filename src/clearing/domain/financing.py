"""Receivables financing: what the pool advances a creditor today against what a debtor owes it.

A creditor member may take an advance from the pool against a receivable that
is accepted in the open cycle or pending in a committed one. The pool is repaid
first at release, so its risk is the debtor not paying: the haircut grows as
the debtor's tier falls. The pool also waits until the expected settlement, so
it takes a discount for the days in between at the annual rate it charges:

    gross    = receivable × (10000 − haircut_bps[debtor tier]) / 10000   (rounded down)
    discount = gross × rate_bps × days / (10000 × 365)                  (rounded up)
    advance  = gross − discount                                         (0 if negative)

Both roundings go against the creditor taking the advance, so the pool never
advances more than the formula's exact value. Plain integers in token units,
any size; pure.

>>> terms = AdvanceTerms(haircut_bps={"A": 500, "B": 1_500, "C": 10_000}, rate_bps=1_200)
>>> q = quote(1_000_000, "A", days=30, terms=terms)
>>> q.gross, q.discount, q.advance
(950000, 9370, 940630)
>>> quote(1_000_000, "C", days=30, terms=terms).advance  # a tier-C debtor backs no advance
0
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from clearing.errors import ValidationError

__all__ = ["BPS", "DAYS_PER_YEAR", "MAX_DAYS", "AdvanceQuote", "AdvanceTerms", "quote"]

#: Basis points in a whole.
BPS = 10_000
#: The discount's day count (actual/365, as the pool's interest rate model).
DAYS_PER_YEAR = 365
#: The longest wait priced: a receivable expected later than a year is not financed.
MAX_DAYS = 365


@dataclass(frozen=True, slots=True)
class AdvanceTerms:
    """The pool's terms: haircut per debtor tier and the annual discount rate, in basis points."""

    haircut_bps: Mapping[str, int]
    rate_bps: int

    def __post_init__(self) -> None:
        for tier, bps in self.haircut_bps.items():
            _bps(bps, f"haircut_bps.{tier}")
        _bps(self.rate_bps, "rate_bps")


@dataclass(frozen=True, slots=True)
class AdvanceQuote:
    receivable: int
    debtor_tier: str
    days: int
    haircut_bps: int
    #: The receivable after the haircut.
    gross: int
    #: What the pool keeps for waiting ``days``.
    discount: int
    #: What the creditor receives now; the pool is repaid ``receivable`` at release (it keeps the rest
    #: after the advance, its haircut and discount, until the creditor's part is paid to it).
    advance: int


def quote(receivable: int, debtor_tier: str, *, days: int, terms: AdvanceTerms) -> AdvanceQuote:
    """The advance against ``receivable`` owed by a debtor of ``debtor_tier``, expected in ``days`` days.

    >>> t = AdvanceTerms(haircut_bps={"A": 0}, rate_bps=0)
    >>> quote(7, "A", days=0, terms=t).advance
    7
    >>> quote(7, "B", days=0, terms=t)
    Traceback (most recent call last):
    ...
    clearing.errors.ValidationError: no haircut is set for debtor tier 'B'
    """
    if type(receivable) is not int or receivable <= 0:
        raise ValidationError(f"receivable must be a positive integer, got {receivable!r}", field="receivable")
    if type(days) is not int or not 0 <= days <= MAX_DAYS:
        raise ValidationError(f"days must be an integer within 0..{MAX_DAYS}, got {days!r}", field="days")
    if debtor_tier not in terms.haircut_bps:
        raise ValidationError(f"no haircut is set for debtor tier {debtor_tier!r}", field="debtor_tier")
    haircut = terms.haircut_bps[debtor_tier]
    gross = receivable * (BPS - haircut) // BPS
    discount = -(-gross * terms.rate_bps * days // (BPS * DAYS_PER_YEAR))  # ceiling: against the creditor
    return AdvanceQuote(
        receivable=receivable,
        debtor_tier=debtor_tier,
        days=days,
        haircut_bps=haircut,
        gross=gross,
        discount=min(discount, gross),
        advance=max(0, gross - discount),
    )


def _bps(value: object, field: str) -> int:
    if type(value) is not int or not 0 <= value <= BPS:
        raise ValidationError(f"{field} must be an integer within 0..{BPS}, got {value!r}", field=field)
    return value
