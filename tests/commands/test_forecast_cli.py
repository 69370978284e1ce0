"""``clearing forecast`` (a stable entry point) and ``clearing bench forecast`` through a real process."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from clearing.bench.forecast import generate

EXE = Path(sys.executable).parent / "clearing"


def run(*args, timeout=300):
    return subprocess.run([str(EXE), *map(str, args)], capture_output=True, text=True, timeout=timeout)


def write_instance(tmp_path: Path, inst) -> tuple[Path, Path, Path]:
    h, e, b = tmp_path / "history.csv", tmp_path / "events.csv", tmp_path / "balances.csv"
    with h.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["member", "date", "inflow", "outflow"])
        for m, flows in inst.history.items():
            w.writerows((m, x.day.isoformat(), x.inflow, x.outflow) for x in flows)
    with e.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["date", "event"])
        w.writerows((d.isoformat(), n) for d, names in sorted(inst.events.items()) for n in sorted(names))
    with b.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["member", "balance"])
        w.writerows(inst.balances.items())
    return h, e, b


@pytest.mark.parametrize("seed", [11, 90210])
def test_meets_the_accuracy_targets_on_unseen_instances(tmp_path, seed):
    inst = generate(60, 365, 14, seed)
    h, e, b = write_instance(tmp_path, inst)
    r = run("forecast", "--history", h, "--events", e, "--balances", b, "--horizon", 14)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["horizon"] == 14 and set(out["members"]) == set(inst.history)
    ratios, inside, total, tp, fp, fn = [], 0, 0, 0, 0, 0
    for m, held in inst.held_out.items():
        got = out["members"][m]
        days = got["days"]
        assert [d["date"] for d in days] == [x.day.isoformat() for x in held]
        assert all(isinstance(d[k], str) for d in days for k in ("inflow_p50", "outflow_p50", "net_p05", "net_p50"))
        y = [x.inflow - x.outflow for x in held]
        p50 = [int(d["net_p50"]) for d in days]
        naive = [int(d["net_naive"]) for d in days]
        ratios.append(
            sum(abs(a - b) for a, b in zip(p50, y, strict=True))
            / max(1, sum(abs(a - b) for a, b in zip(naive, y, strict=True)))
        )
        inside += sum(int(d["net_p05"]) <= a <= int(d["net_p95"]) for d, a in zip(days, y, strict=True))
        total += len(y)
        flag, truth = got["shortfall_date"], inst.short[m]
        if truth and flag and flag <= truth.isoformat():
            tp += 1
            assert int(got["topup"]["amount"]) > 0 and got["topup"]["by"] < flag
        elif truth:
            fn += 1
        elif flag:
            fp += 1
    assert math.exp(sum(math.log(r) for r in ratios) / len(ratios)) <= 0.8
    assert 0.8 <= inside / total <= 0.97
    assert tp / max(1, tp + fn) >= 0.9 and tp / max(1, tp + fp) >= 0.6


def test_without_balances_there_is_no_shortfall_or_advice(tmp_path):
    h = tmp_path / "h.csv"
    h.write_text("member,date,inflow,outflow\na,2026-01-01,10,20\na,2026-01-02,10,20\nb,2026-01-01,5,0\n")
    r = run("forecast", "--history", h, "--horizon", 7)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    # Every member starts the day after the file's last day; b's missing 2 Jan is a day without trade.
    assert [d["date"] for d in out["members"]["b"]["days"]][0] == "2026-01-03"
    assert all(m["shortfall_date"] is None and m["topup"] is None for m in out["members"].values())
    big = 2**200
    h.write_text(f"member,date,inflow,outflow\na,2026-01-01,{big},0\n")
    assert run("forecast", "--history", h).returncode == 0


BAD = [
    ("history", "member,date,inflow\na,2026-01-01,1\n", "line 1", "outflow"),
    ("history", "member,date,inflow,outflow\na,2026-13-01,1,1\n", "line 2", "date"),
    ("history", "member,date,inflow,outflow\na,20260101,1,1\n", "line 2", "date"),
    ("history", "member,date,inflow,outflow\na,2026-01-01,-1,1\n", "line 2", "inflow"),
    ("history", "member,date,inflow,outflow\na,2026-01-01,1,1.5\n", "line 2", "outflow"),
    ("history", "member,date,inflow,outflow\na,2026-01-01,1,1\na,2026-01-01,2,2\n", "line 3", "date"),
    ("history", "member,date,inflow,outflow\n,2026-01-01,1,1\n", "line 2", "member"),
    ("history", "member,date,inflow,outflow\n", None, None),
    ("events", "date,event\n2026-01-01,\n", "line 2", "event"),
    ("events", "date,name\n2026-01-01,x\n", "line 1", "event"),
    ("balances", "member,balance\na,12x\n", "line 2", "balance"),
    ("balances", "member,balance\na,1\na,2\n", "line 3", "member"),
]


@pytest.mark.parametrize("which, text, where, field", BAD)
def test_bad_input_exits_2_with_one_line(tmp_path, which, text, where, field):
    good = tmp_path / "good.csv"
    good.write_text("member,date,inflow,outflow\na,2026-01-01,10,20\n")
    bad = tmp_path / f"{which}.csv"
    bad.write_text(text)
    args = ["forecast", "--history", bad if which == "history" else good]
    if which != "history":
        args += [f"--{which}", bad]
    r = run(*args)
    assert r.returncode == 2 and r.stdout == ""
    (line,) = r.stderr.strip().splitlines()
    assert line.startswith("error: ") and f"{which}.csv" in line
    if where:
        assert where in line and f"'{field}'" in line


@pytest.mark.parametrize("horizon", [0, 32, "x"])
def test_bad_horizon(tmp_path, horizon):
    h = tmp_path / "h.csv"
    h.write_text("member,date,inflow,outflow\na,2026-01-01,10,20\n")
    r = run("forecast", "--history", h, "--horizon", horizon)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) <= 3 and "horizon" in r.stderr


def test_bench_forecast_small():
    r = run("bench", "forecast", "--members", 24, "--speed-members", 50, "--seed", 5)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["accuracy"]["mae_ratio_to_seasonal_naive"] < 1.0
    assert out["speed"]["members"] == 50 and out["speed"]["baseline_bare_lstsq_seconds"] > 0


@pytest.mark.postgres
def test_bench_forecast_pipeline_small():
    r = run("bench", "forecast", "--members", 4, "--speed-members", 0, "--pipeline-members", 40,
            "--pipeline-obligations", 4000, "--horizon", 7)  # fmt: skip
    assert r.returncode == 0, r.stderr
    p = json.loads(r.stdout)["pipeline"]
    assert p["members"] == 40 and p["stored"] == 40
    # Times are the benchmark's to report, not the test's to judge: only that both were measured.
    assert p["bare_model_seconds"] > 0 and p["service_run_seconds"] > 0
    assert p["ratio_service_to_bare"] > 0 and p["target_ratio_max"] == 1.5
