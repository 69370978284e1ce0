"""Long commands show progress on stderr while stdout stays one JSON document."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.conftest import CLEARING_EXE, clearing_env


def _bench(tmp_path, *args: str) -> tuple[dict, list[str]]:
    proc = subprocess.run(
        [CLEARING_EXE, "bench", *args], cwd=tmp_path, env=clearing_env(), capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), proc.stderr.splitlines()


@pytest.mark.anvil
def test_bench_gas_small(tmp_path):
    out, progress = _bench(tmp_path, "gas", "--obligations", "40", "--members", "4", "--sizes", "2,4")
    assert out["settlement"]["obligations"] == 40
    assert progress and all(line.startswith("bench gas: ") for line in progress)
    assert "bench gas: 4/4 members admitted and funded" in progress
    assert any("settling 40 obligations" in line and "done in" in line for line in progress)


@pytest.mark.anvil
def test_bench_cycle_small(tmp_path):
    out, progress = _bench(tmp_path, "cycle", "--obligations", "60", "--members", "4")
    assert out["state"] == "SETTLED" and out["obligations"] == 60
    assert progress and all(line.startswith("bench cycle: ") for line in progress)
    assert any("submitting 60 obligations" in line and "done in" in line for line in progress)
    assert any(line.startswith("bench cycle: cycle 1 SETTLED") for line in progress)


def test_bench_netting_scale_small(tmp_path):
    out, progress = _bench(tmp_path, "netting", "--scale", "--scale-sizes", "3000,21000", "--repeats", "1")
    assert [c["obligations"] for c in out["cases"]] == [3000, 21000]
    for case in out["cases"]:
        assert case["exact_check"] == "passed"
        assert 0 < case["settled_value"] <= case["lp_bound"] * (1 + 1e-9)
        assert case["ratio_to_bare_lp"] > 0 and case["clearing_net_peak_rss_mib"] > 0
    assert progress and all(line.startswith("bench netting --scale: ") for line in progress)
