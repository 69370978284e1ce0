"""Alert rules at their thresholds' boundaries; overrides win over the tier; defaults agree with settings."""

from __future__ import annotations

from datetime import date

import pytest

from clearing.domain.alerts import (
    DEFAULT_THRESHOLDS,
    MEMBER_KINDS,
    MemberInputs,
    OpenHold,
    Thresholds,
    check_threshold,
    effective_thresholds,
    evaluate_house,
    evaluate_member,
    typical_daily_outflow,
)
from clearing.errors import ValidationError
from clearing.settings import Settings

TODAY = date(2026, 12, 1)
T = Thresholds(
    headroom_days=2, shortfall_within_days=7, carried_max=2, hold_open_hours=24, credit_utilisation_bps=8_000
)
QUIET = MemberInputs(headroom=10**9, typical_daily_outflow=0, today=TODAY)


def kinds(inputs: MemberInputs, t: Thresholds = T) -> list[tuple[str, str]]:
    return [(c.kind, c.dedup_key) for c in evaluate_member(inputs, t)]


def test_nothing_holds_for_a_quiet_member():
    assert evaluate_member(QUIET, T) == []


def test_headroom_alerts_strictly_below_days_times_typical_outflow():
    at = MemberInputs(headroom=200, typical_daily_outflow=100, today=TODAY)
    below = MemberInputs(headroom=199, typical_daily_outflow=100, today=TODAY)
    assert kinds(at) == []
    (c,) = evaluate_member(below, T)
    assert (c.kind, c.severity, c.data["floor"]) == ("headroom_low", "warning", 200)
    assert "199" in c.message and "200" in c.message
    negative = MemberInputs(headroom=-1, typical_daily_outflow=0, today=TODAY)
    assert [c.severity for c in evaluate_member(negative, T)] == ["critical"]  # over its cap, even without outflow


def test_shortfall_alerts_within_n_days_inclusive():
    def at(days: int) -> MemberInputs:
        return MemberInputs(
            headroom=10**9, typical_daily_outflow=0, today=TODAY, shortfall_date=TODAY.replace(day=1 + days)
        )

    assert kinds(at(7)) == [("projected_shortfall", "projected_shortfall")]
    assert kinds(at(8)) == []
    assert [c.severity for c in evaluate_member(at(1), T)] == ["critical"]


def test_carried_alerts_above_the_maximum():
    assert kinds(MemberInputs(headroom=10**9, typical_daily_outflow=0, today=TODAY, carried=2)) == []
    assert kinds(MemberInputs(headroom=10**9, typical_daily_outflow=0, today=TODAY, carried=3)) == [
        ("obligations_carried", "obligations_carried")
    ]


def test_each_hold_open_too_long_is_its_own_alert_from_the_threshold_on():
    holds = (OpenHold(7, "o-7", "single-order", 24 * 3600), OpenHold(8, "o-8", "velocity", 24 * 3600 - 1))
    found = evaluate_member(MemberInputs(headroom=10**9, typical_daily_outflow=0, today=TODAY, open_holds=holds), T)
    assert [(c.kind, c.dedup_key, c.data["obligation_id"]) for c in found] == [("hold_open_too_long", "hold:7", "o-7")]


def test_credit_utilisation_alerts_at_the_share_of_the_line():
    def used(drawn: int, line: int) -> list[str]:
        return [c.severity for c in evaluate_member(MemberInputs(10**9, 0, TODAY, drawn=drawn, line=line), T)]

    assert used(7_999, 10_000) == []
    assert used(8_000, 10_000) == ["warning"]
    assert used(10_000, 10_000) == ["critical"]
    assert used(1, 0) == ["critical"]  # any drawing on a zero line
    assert used(0, 0) == []


def test_overrides_win_over_the_tier():
    t, why = effective_thresholds(DEFAULT_THRESHOLDS["C"], {"obligations_carried": 10, "hold_open_too_long": 1})
    assert (t.carried_max, t.hold_open_hours) == (10, 1)
    assert t.headroom_days == DEFAULT_THRESHOLDS["C"].headroom_days
    assert {w.kind: w.source for w in why} == {
        "headroom_low": "tier",
        "projected_shortfall": "tier",
        "obligations_carried": "override",
        "hold_open_too_long": "override",
        "credit_utilisation_high": "tier",
    }
    inputs = MemberInputs(headroom=10**9, typical_daily_outflow=0, today=TODAY, carried=3)
    assert kinds(inputs, DEFAULT_THRESHOLDS["C"]) == [("obligations_carried", "obligations_carried")]
    assert kinds(inputs, t) == []


def test_tier_a_is_more_lenient_than_b_than_c():
    a, b, c = (DEFAULT_THRESHOLDS[x] for x in "ABC")
    assert a.headroom_days < b.headroom_days < c.headroom_days
    assert a.shortfall_within_days < b.shortfall_within_days < c.shortfall_within_days
    assert a.carried_max > b.carried_max > c.carried_max
    assert a.hold_open_hours > b.hold_open_hours > c.hold_open_hours
    assert a.credit_utilisation_bps > b.credit_utilisation_bps > c.credit_utilisation_bps


def test_settings_defaults_are_the_domain_defaults():
    cfg = Settings().alerts
    for tier in "ABC":
        assert Thresholds(**getattr(cfg, f"tier_{tier.lower()}").model_dump()) == DEFAULT_THRESHOLDS[tier]


def test_skipped_rules_are_not_evaluated():
    inputs = MemberInputs(10**9, 0, TODAY, shortfall_date=TODAY, skip=frozenset({"projected_shortfall"}))
    assert evaluate_member(inputs, T) == []


def test_writer_stuck_is_house_level():
    (c,) = evaluate_house(stuck=1, stuck_after_seconds=300, oldest_seconds=301)
    assert (c.kind, c.dedup_key, c.severity) == ("writer_stuck", "writer_stuck", "critical")
    assert evaluate_house(stuck=0, stuck_after_seconds=300, oldest_seconds=None) == []


def test_typical_outflow_is_the_lower_median():
    assert typical_daily_outflow([0] * 20 + [100] * 8) == 0
    assert typical_daily_outflow([0] * 13 + [100] * 15) == 100
    assert typical_daily_outflow([10**30, 3, 10**30]) == 10**30  # exact, no float


@pytest.mark.parametrize("kind", MEMBER_KINDS)
def test_thresholds_are_checked_naming_the_field(kind):
    assert check_threshold(kind, 0) == 0
    for bad in (-1, True, "1", 10**7, 1.0):
        with pytest.raises(ValidationError) as e:
            check_threshold(kind, bad)
        assert e.value.field == kind
    with pytest.raises(ValidationError) as e:
        check_threshold("writer_stuck", 1)
    assert e.value.field == "writer_stuck"
