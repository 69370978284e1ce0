"""Receivable advances: never above the formula's exact value, monotone in what should make them smaller."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearing.domain.financing import BPS, DAYS_PER_YEAR, MAX_DAYS, AdvanceTerms, quote
from clearing.errors import ValidationError

PROP = settings(max_examples=300, deadline=None)
AMOUNTS = st.integers(min_value=1, max_value=10**30)
BPSS = st.integers(min_value=0, max_value=BPS)
DAYS = st.integers(min_value=0, max_value=MAX_DAYS)


@PROP
@given(AMOUNTS, BPSS, BPSS, DAYS)
def test_the_advance_never_exceeds_the_exact_value_and_misses_it_by_under_two_units(amount, haircut, rate, days):
    q = quote(amount, "A", days=days, terms=AdvanceTerms({"A": haircut}, rate))
    gross = Fraction(amount * (BPS - haircut), BPS)
    exact = max(Fraction(0), gross - gross * rate * days / (BPS * DAYS_PER_YEAR))
    assert 0 <= q.advance <= exact
    assert exact - q.advance < 2  # one unit lost to each rounding at most
    assert q.gross - q.discount == q.advance or q.advance == 0


@PROP
@given(AMOUNTS, BPSS, BPSS, DAYS, DAYS)
def test_a_longer_wait_never_raises_the_advance(amount, haircut, rate, d1, d2):
    terms = AdvanceTerms({"A": haircut}, rate)
    short, long_ = sorted((d1, d2))
    assert quote(amount, "A", days=long_, terms=terms).advance <= quote(amount, "A", days=short, terms=terms).advance


@PROP
@given(AMOUNTS, BPSS, BPSS, DAYS)
def test_a_riskier_tier_never_gets_more(amount, h1, h2, days):
    low, high = sorted((h1, h2))
    terms = AdvanceTerms({"A": low, "B": high}, 1_000)
    assert quote(amount, "B", days=days, terms=terms).advance <= quote(amount, "A", days=days, terms=terms).advance


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"receivable": 0}, "receivable"),
        ({"receivable": 1.5}, "receivable"),
        ({"days": MAX_DAYS + 1}, "days"),
        ({"days": -1}, "days"),
        ({"debtor_tier": "Z"}, "debtor_tier"),
    ],
)
def test_bad_input_names_its_field(kwargs, field):
    args = {"receivable": 100, "debtor_tier": "A", "days": 10, **kwargs}
    with pytest.raises(ValidationError) as e:
        quote(args["receivable"], args["debtor_tier"], days=args["days"], terms=AdvanceTerms({"A": 100}, 100))
    assert e.value.field == field


@pytest.mark.parametrize(("haircuts", "rate", "field"), [({"A": BPS + 1}, 0, "haircut_bps.A"), ({}, -1, "rate_bps")])
def test_terms_out_of_range_are_refused(haircuts, rate, field):
    with pytest.raises(ValidationError) as e:
        AdvanceTerms(haircuts, rate)
    assert e.value.field == field
