"""Exact token amounts and the charts' SVG, without a browser."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from clearing.api.console.render import band_chart, bars, bps, environment, format_units, sparkline


@pytest.mark.parametrize(
    ("value", "decimals", "shown"),
    [
        (0, 6, "0"),
        (1, 6, "0.000001"),
        (1_234_500, 6, "1.2345"),
        (-5_000_000, 6, "-5"),
        (1_234_567_000_000, 6, "1,234,567"),
        (10**30 + 1, 18, "1,000,000,000,000.000000000000000001"),  # beyond float precision, exact
        (42, 0, "42"),
    ],
)
def test_amounts_are_exact_whole_tokens(value, decimals, shown):
    assert format_units(value, decimals) == shown


def test_amount_carries_the_raw_integer_in_its_title():
    html = str(environment(6).from_string("{{ amount(v) }}").render(v=-1_500_001))
    assert html == '<span class="amt" title="-1500001">-1.500001</span>'


def test_bps_are_percentages_with_two_decimals():
    assert (bps(0), bps(1), bps(1234), bps(-250), bps(None)) == ("0.00%", "0.01%", "12.34%", "-2.50%", "–")


def test_charts_are_labelled_svg():
    spark = str(sparkline([5, 3, -2], label="balance of x"))
    assert spark.startswith("<svg") and 'aria-label="balance of x"' in spark and "#b00020" in spark  # red: below zero
    days = [date(2026, 1, 1) + timedelta(i) for i in range(3)]
    chart = str(band_chart(days, [1, 2, 3], [2, 3, 4], [3, 4, 5], label="net <flows>", decimals=6, mark=days[1]))
    assert 'aria-label="net &lt;flows&gt;"' in chart and "<polygon" in chart and "2026-01-03" in chart
    assert str(bars({"a": -3, "b": 3}, label="positions", decimals=0)).count("<rect") == 2
