"""The per-second velocity window equals a naive re-sum of its rows, whatever order they came in."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearing.domain.velocity import WINDOW_SLACK, VelocityWindow, at, per_second, unix_seconds

buckets = st.lists(st.tuples(st.integers(0, 60), st.integers(1, 5), st.integers(1, 10**30)), max_size=8)


@settings(max_examples=300, deadline=None)
@given(steps=st.lists(st.tuples(st.integers(-5, 50), buckets), min_size=1, max_size=12), probe=st.integers(0, 70))
def test_window_buckets_equal_a_naive_sum(steps, probe):
    window = VelocityWindow(0, -10, (), 0, 0)
    rows: list[tuple[int, int, int]] = []
    floor = -10
    for seq, (keep, extra) in enumerate(steps, 1):
        window = window.advanced(seq, keep, list(extra))
        floor = max(floor, keep)
        rows = [r for r in rows + list(extra) if r[0] > floor]
        per_second: dict[int, list[int]] = {}
        for ts, c, t in rows:
            slot = per_second.setdefault(ts, [0, 0])
            slot[0] += c
            slot[1] += t
        assert window.seq == seq and window.floor == floor
        assert window.buckets == tuple((ts, c, t) for ts, (c, t) in sorted(per_second.items()))
        assert (window.count, window.total) == (sum(r[1] for r in rows), sum(r[2] for r in rows))
        start = max(probe, floor)
        assert window.since(start) == (sum(r[1] for r in rows if r[0] > start), sum(r[2] for r in rows if r[0] > start))


def test_empty_window_starts_at_its_floor():
    assert VelocityWindow.empty(-10) == VelocityWindow(0, -10, (), 0, 0)
    assert VelocityWindow.empty(7).advanced(1, 0, [(7, 1, 1), (8, 2, 3)]) == VelocityWindow(1, 7, ((8, 2, 3),), 2, 3)


def test_window_is_immutable():  # threads share cached windows
    with pytest.raises(dataclasses.FrozenInstanceError):
        VelocityWindow.empty(0).count = 1


@given(st.integers(-(10**10), 10**10), st.integers(0, 999_999))
def test_unix_seconds_round_down_and_at_inverts_them(second, micro):
    t = at(second) + timedelta(microseconds=micro)
    assert unix_seconds(t) == second
    assert at(unix_seconds(t)) == t.replace(microsecond=0)
    assert at(second).tzinfo is UTC


def test_unix_seconds_matches_the_epoch_arithmetic():
    assert unix_seconds(datetime(2026, 1, 1, tzinfo=UTC)) == 1_767_225_600
    assert unix_seconds(datetime(2026, 1, 1, 1, tzinfo=UTC) + timedelta(hours=-1, microseconds=-1)) == 1_767_225_599


@given(st.lists(st.tuples(st.integers(-5, 5), st.integers(1, 10**30)), max_size=20), st.booleans())
def test_per_second_equals_a_naive_sum(rows, as_text):
    got = per_second([(ts, str(a) if as_text else a) for ts, a in rows])
    assert sorted(got) == sorted(
        (ts, sum(1 for s, _ in rows if s == ts), sum(a for s, a in rows if s == ts)) for ts in {s for s, _ in rows}
    )
    assert [ts for ts, _, _ in got] == list(dict.fromkeys(ts for ts, _ in rows))  # first-seen order


def test_slack_is_five_minutes():
    assert WINDOW_SLACK == 300
