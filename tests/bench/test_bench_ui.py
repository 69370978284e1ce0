"""`clearing bench ui` on a few members: its JSON has every phase, the baseline and the verdict."""

from __future__ import annotations

import pytest

from clearing.bench.ui import run


@pytest.mark.slow
def test_bench_ui_reports_the_page_against_the_json_baseline():
    out = run(members_count=5, repeats=2, seed=1)
    assert out["members"] == 5
    for phase in ("members_page", "members_sorted", "baseline_json"):
        assert out[phase]["median_ms"] > 0 and out[phase]["bytes"] > 0
    assert out["page_over_json"] == round(out["members_page"]["median_ms"] / out["baseline_json"]["median_ms"], 2)
    assert out["meets_target"] == (out["members_page"]["median_ms"] <= out["target_ms"])
