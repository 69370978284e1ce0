"""``clearing bench simulate`` at toy sizes: its shape, and that the baseline sees the same orders."""

from __future__ import annotations

from clearing.bench.simulate import baseline_pass, run
from clearing.domain.simulation import Scenario, generate


def test_bench_reports_each_size_with_its_baseline():
    out = run(platforms=5, days=(10, 20), seed=3, limit_s=120.0)
    assert [s["days"] for s in out["sizes"]] == [10, 20]
    for size in out["sizes"]:
        assert size["orders"] > 0 and size["orders_per_second"] > 0
        assert size["baseline_s"] > 0 and size["ratio_to_baseline"] > 0
        assert set(size["phases_s"]) == {"generate", "prepaid", "clearing"}
    assert out["sizes"][1]["orders"] > out["sizes"][0]["orders"]
    assert out["linearity"] > 0
    assert out["target"]["met"] is False  # toy sizes have far fewer than a million orders


def test_baseline_pass_reads_every_order():
    world, demand = generate(Scenario(), platforms=4, days=5, seed=1)
    assert baseline_pass(demand, world.n) >= int(demand.amount.max())
