"""``clearing simulate`` through a real process: the stable report shape, the offline page, bad input."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[2] / "src")
PNG = b"\x89PNG\r\n\x1a\n"


def run(*args: str, timeout: int = 120) -> subprocess.CompletedProcess[str]:
    code = "from clearing.cli import main; main()"
    env = {"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim")
    r = run("simulate", "--platforms", "6", "--days", "40", "--seed", "3", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["out"] == str(out)
    assert "simulate:" in r.stderr  # progress goes to stderr
    return out


def test_report_json_has_the_stable_shape(report_dir):
    rep = json.loads((report_dir / "report.json").read_text())
    assert {"prepaid", "clearing", "demand", "capital", "seed", "wall_s"} <= set(rep)
    assert set(rep["demand"]) == {"orders", "value"} and rep["seed"] == 3
    for model in ("prepaid", "clearing"):
        for key in ("orders_interrupted", "value_interrupted", "capital_locked_mean", "capital_locked_peak"):
            assert type(rep[model][key]) is int, (model, key)
        assert rep[model]["value_completed"] + rep[model]["value_interrupted_all"] == rep["demand"]["value"]
    assert type(rep["capital"]) is int and rep["capital"] > 0
    assert isinstance(rep["wall_s"], float)


def test_report_html_is_offline_with_real_plots(report_dir):
    page = (report_dir / "report.html").read_text()
    assert not re.search(r"(?:src|href)\s*=\s*[\"']?(?:https?:)?//", page)
    assert "<link" not in page and "<script" not in page
    pngs = re.findall(r'src="([^"]+\.png)"', page)
    assert len(pngs) >= 3
    for name in pngs:
        assert (report_dir / name).read_bytes()[:8] == PNG, name


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--platforms", "-3"), "--platforms"),
        (("--days", "0"), "--days"),
    ],
)
def test_bad_numbers_exit_2_with_one_line(tmp_path, args, expected):
    r = run("simulate", *args, "--out", str(tmp_path / "x"))
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0]


def test_unknown_scenario_key_exits_2_naming_it(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text("capital_days = 5\norders_per_platfrom_day = 3\n")
    r = run("simulate", "--platforms", "3", "--days", "5", "--scenario", str(f), "--out", str(tmp_path / "x"))
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [f"error: {f}: unknown scenario key 'orders_per_platfrom_day'"]
    assert not (tmp_path / "x").exists()


def test_malformed_toml_exits_2_with_one_line(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text("capital_days = = 5\n")
    r = run("simulate", "--platforms", "3", "--days", "5", "--scenario", str(f), "--out", str(tmp_path / "x"))
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {f}: not valid TOML")


def test_a_scenario_file_changes_the_run(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text("orders_per_platform_day = 5\ndefaulter_share = 0.0\n")
    r = run("simulate", "--platforms", "4", "--days", "10", "--scenario", str(f), "--out", str(tmp_path / "o"))
    assert r.returncode == 0, r.stderr
    rep = json.loads((tmp_path / "o" / "report.json").read_text())
    assert rep["scenario"]["orders_per_platform_day"] == 5
    assert rep["demand"]["orders"] < 4 * 10 * 5 * 2


def test_sensitivity_reports_the_spread_over_seeds_and_capital(tmp_path):
    r = run("simulate", "--platforms", "4", "--days", "12", "--seed", "1", "--sensitivity", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    s = json.loads((tmp_path / "report.json").read_text())["sensitivity"]
    assert len(s["runs"]) == 5 * 3 and {x["seed"] for x in s["runs"]} == {1, 2, 3, 4, 5}
    for level, spread in s["spread"].items():
        cuts = [x["interruptions_cut"] for x in s["runs"] if str(x["capital_level"]) == level]
        assert spread["interruptions_cut"] == {"min": min(cuts), "max": max(cuts)}
    assert "capital × 0.5" in (tmp_path / "report.html").read_text()
