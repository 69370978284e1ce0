"""`clearing bench credit` on the real PostgreSQL, small: the JSON's shape, and both sides compute the same inputs."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.conftest import CLEARING_EXE, PG_URL, clearing_env


@pytest.mark.postgres
def test_bench_credit_small(tmp_path):
    if PG_URL == "skip":
        pytest.skip("CLEARING_TEST_POSTGRES_URL=skip")
    proc = subprocess.run(
        [CLEARING_EXE, "bench", "credit", "--members", "200", "--obligations", "20000", "--repeats", "1"],
        cwd=tmp_path,
        env=clearing_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["members"] == 200 and out["obligations"] == 20_000
    assert out["same_inputs"] is True  # the bare aggregate and the gatherer read the same inputs
    assert out["members_scored"] == 200 and sum(out["tiers"].values()) == 200
    assert 0 < out["settled_in_window"] < 20_000
    for key in ("bare_aggregate_s", "rescore_s", "own_statements_bare_s", "ratio", "ratio_to_own_statements"):
        assert isinstance(out[key], float) and out[key] > 0, key
    assert isinstance(out["meets_target"], bool) and out["target_ratio"] == 2.0
    lines = proc.stderr.splitlines()
    assert lines and all(line.startswith("bench credit: ") for line in lines)
    assert any(line.startswith("bench credit: run 1/1: bare aggregate") for line in lines)
