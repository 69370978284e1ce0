"""`clearing demo` end to end: seven months of credit history (a default among it), then today's cycle, a
forecast and the audit (issues 9, 10 and 11)."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.conftest import CLEARING_EXE, clearing_env


@pytest.mark.slow
def test_the_demo_shows_a_member_earning_tier_a_and_another_defaulting(tmp_path):
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    proc = subprocess.run(
        [CLEARING_EXE, "demo", "--obligations", "40", "--db", db],
        env=clearing_env(),
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-5000:]
    out = json.loads(proc.stdout)
    assert out["audit"]["ok"] and out["proof_verified_on_chain"]
    loot, gem = out["credit"]["lootbox"], out["credit"]["gemshop"]
    assert loot["tier"] == "A" and int(loot["credit_line"]) > 0 and loot["chain_limit"] == loot["credit_line"]
    assert loot["formula"].startswith("30% × average monthly volume of the last 3 months")
    assert loot["migrations"] == ["B→A (schedule)"]
    assert gem["tier"] == "C" and gem["credit_line"] == "0"
    assert gem["migrations"] == ["B→C (schedule)"]
    # issue 11: gemshop never repaid; past its deadline and the grace period the scan declared it in default and the
    # waterfall ran on chain: nothing to take before the lenders, who bore its debt (interest included)
    d = gem["default"]
    assert (d["trigger"], d["state"]) == ("repayment_deadline", "allocated") and d["allocate_tx"]
    assert d["steps"] == {"collateral": "0", "pledged_assets": "0", "receivables": "0", "pool_lenders": d["loss"]}
    assert d["written_down"] == d["loss"] and int(d["loss"]) >= 5_000_000_000
    assert gem["chain_limit"] == gem["drawn"] == "0"
    assert "gemshop declared in default (repayment_deadline)" in proc.stderr
    assert "the lenders' pool written down by 5000" in proc.stderr
    assert "day 200: lootbox tier A" in proc.stderr
    # issue 10: flashmart's month of daily buying ran its headroom down; the forecast says when and how much
    fc = out["forecast"]
    assert fc["member"] == "flashmart" and fc["model_version"] and len(fc["data_version"]) == 16
    assert fc["shortfall_date"] is not None and int(fc["topup"]["amount"]) > 0
    assert fc["topup"]["by"] < fc["shortfall_date"] and "flashmart" in fc["shortfalls"]
    # the lender's 50,000 less gemshop's 5,000 written down (plus what borrowers paid in interest since)
    assert 45_000_000_000 <= int(fc["pool"]["liquidity"]) < 45_001_000_000 and int(fc["pool"]["needed_95"]) >= 0
    assert "flashmart headroom" in proc.stderr and "pool needs" in proc.stderr
