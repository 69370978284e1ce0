"""`clearing bench api` reports each endpoint as a ratio to its same-run baseline, against issue 15's targets."""

from clearing.bench.api import RATIO_TARGETS, ratios


def _phase(rate: float, p99: float | None, items: float | None = None) -> dict:
    return {"requests_per_s": rate, "items_per_s": items if items is not None else rate, "p99_ms": p99}


def test_ratios_divide_by_the_same_run_baselines_and_say_which_targets_hold():
    got = ratios(_phase(4000, 2.0), _phase(1200, 15.0), _phase(40, 900.0, items=200_000), {"rows_per_s": 160_000})
    assert (got["batch_vs_insert"], got["single_vs_noop"], got["single_p99_vs_noop_p99"]) == (1.25, 0.3, 7.5)
    assert got["meets"] == {"batch_vs_insert": True, "single_vs_noop": True, "single_p99_vs_noop_p99": True}
    assert got["targets"] == RATIO_TARGETS


def test_a_slow_p99_or_a_missing_baseline_is_reported_not_hidden():
    got = ratios(_phase(4000, 2.0), _phase(800, 30.0), _phase(10, 900.0, items=50_000), {"rows_per_s": 0})
    assert got["single_vs_noop"] == 0.2 and got["meets"]["single_vs_noop"] is False
    assert got["single_p99_vs_noop_p99"] == 15.0 and got["meets"]["single_p99_vs_noop_p99"] is False
    assert got["batch_vs_insert"] is None and got["meets"]["batch_vs_insert"] is None
