"""``clearing simulate``: prepaid trade vs the clearing house on the same generated demand and capital.

``clearing simulate --platforms N --days D --seed S [--scenario F.toml] [--sensitivity] [--full] --out DIR``
writes ``DIR/report.json`` (a stable shape: ``prepaid`` and ``clearing``, each with ``orders_interrupted``,
``value_interrupted``, ``capital_locked_mean`` and ``capital_locked_peak``; ``demand``, ``capital``,
``seed``, ``wall_s``) and ``DIR/report.html``, readable offline, with its PNG plots beside it. Progress
goes to stderr; stdout gets one JSON line with the headline. Bad input: exit 2 with one line.
"""

from __future__ import annotations

import json
import time
import tomllib
from pathlib import Path
from typing import Any

import click

from clearing.cli import bench, cli
from clearing.errors import ValidationError

#: Capital levels the sensitivity run multiplies ``capital_days`` by, and how many seeds it uses.
SENSITIVITY_CAPITAL = (0.5, 1.0, 2.0)
SENSITIVITY_SEEDS = 5


def read_scenario(path: Path | None) -> Any:
    """The scenario: the defaults, with the TOML file's keys over them (an unknown key is refused by name)."""
    from clearing.domain.simulation import Scenario

    if path is None:
        return Scenario()
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except OSError as exc:
        raise ValidationError(f"{path}: cannot read ({exc.strerror})", field="scenario") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(f"{path}: not valid TOML ({exc})", field="scenario") from exc
    try:
        return Scenario.from_mapping(data)
    except ValidationError as exc:
        raise ValidationError(f"{path}: {exc.message}", field=exc.field) from exc


def sensitivity(scenario: Any, platforms: int, days: int, seed: int, say: Any) -> dict[str, Any]:
    """Both cuts over ``SENSITIVITY_SEEDS`` seeds × the capital levels: each run's figures and the spread."""
    from dataclasses import replace

    from clearing.domain.simulation import simulate

    runs = []
    for level in SENSITIVITY_CAPITAL:
        sc = replace(scenario, capital_days=scenario.capital_days * level)
        for s in range(seed, seed + SENSITIVITY_SEEDS):
            rep = simulate(sc, platforms=platforms, days=days, seed=s).report()
            h = rep["headline"]
            runs.append(
                {
                    "capital_level": level,
                    "seed": s,
                    "interruptions_cut": h["interruptions_cut"],
                    "capital_locked_cut": h["capital_locked_cut"],
                    "prepaid_interrupted": rep["prepaid"]["orders_interrupted"],
                    "clearing_interrupted": rep["clearing"]["orders_interrupted"],
                }
            )
            say(
                f"sensitivity: capital × {level}, seed {s}: {h['interruptions_cut']:.1%} fewer interruptions, "
                f"{h['capital_locked_cut']:.1%} less capital locked"
            )
    spread = {}
    for level in SENSITIVITY_CAPITAL:
        rows = [r for r in runs if r["capital_level"] == level]
        spread[str(level)] = {
            key: {"min": min(r[key] for r in rows), "max": max(r[key] for r in rows)}
            for key in ("interruptions_cut", "capital_locked_cut")
        }
    return {"seeds": SENSITIVITY_SEEDS, "capital_levels": list(SENSITIVITY_CAPITAL), "runs": runs, "spread": spread}


@cli.command("simulate")
@click.option("--platforms", default=50, show_default=True, type=click.IntRange(min=2), help="Platforms trading.")
@click.option("--days", default=365, show_default=True, type=click.IntRange(min=1, max=3650), help="Days simulated.")
@click.option("--seed", default=1, show_default=True, type=click.IntRange(min=0), help="Seed of the generated demand.")
@click.option(
    "--scenario",
    "scenario_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="TOML file overriding scenario parameters (docs/simulation.md lists them).",
)
@click.option(
    "--sensitivity",
    "with_sensitivity",
    is_flag=True,
    help=f"Also repeat over {SENSITIVITY_SEEDS} seeds × capital {', '.join(map(str, SENSITIVITY_CAPITAL))} (slower).",
)
@click.option(
    "--full",
    is_flag=True,
    help="Also run a small scenario through the whole service (SQLite, embedded chain, real cycles) and compare.",
)
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path), help="Report dir.")
def simulate_command(
    platforms: int,
    days: int,
    seed: int,
    scenario_path: Path | None,
    with_sensitivity: bool,
    full: bool,
    out_dir: Path,
) -> None:
    """Simulate prepaid trade vs the clearing house; write report.json and report.html (with plots) to --out."""
    from clearing.commands.simulate_report import write_report
    from clearing.domain.simulation import simulate
    from clearing.progress import Progress

    t0 = time.perf_counter()
    say = Progress("simulate")
    scenario = read_scenario(scenario_path)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValidationError(f"--out {out_dir}: cannot create ({exc.strerror})", field="out") from exc
    with say.step(f"{platforms} platforms × {days} days, seed {seed}"):
        result = simulate(scenario, platforms=platforms, days=days, seed=seed, progress=say)
    report = result.report()
    if with_sensitivity:
        with say.step("sensitivity"):
            report["sensitivity"] = sensitivity(scenario, platforms, days, seed, say)
    if full:
        from clearing.commands.simulate_full import run_full

        with say.step("--full: a small scenario through the whole service"):
            report["full"] = run_full(scenario, seed, say)
    report["wall_s"] = round(time.perf_counter() - t0, 2)
    with say.step("report"):
        write_report(out_dir, report, result)
    report["wall_s"] = round(time.perf_counter() - t0, 2)
    (out_dir / "report.json").write_text(json.dumps(report, indent=1) + "\n")
    h = report["headline"]
    click.echo(
        json.dumps(
            {
                "out": str(out_dir),
                "interruptions_cut": h["interruptions_cut"],
                "capital_locked_cut": h["capital_locked_cut"],
                "wall_s": report["wall_s"],
            }
        )
    )


@bench.command("simulate")
@click.option("--platforms", default=50, show_default=True, type=click.IntRange(min=2))
@click.option(
    "--days", "days_list", default="90,180,365", show_default=True, help="Comma-separated run lengths, ascending."
)
@click.option("--seed", default=1, show_default=True, type=click.IntRange(min=0))
@click.option("--limit", "limit_s", default=120.0, show_default=True, help="Seconds the largest size may take.")
def bench_simulate(platforms: int, days_list: str, seed: int, limit_s: float) -> None:
    """The simulator at three sizes (orders/s, seconds per million orders) vs a bare numpy pass, as JSON."""
    from clearing.bench.simulate import run

    try:
        days = tuple(int(x) for x in days_list.split(",") if x.strip())
    except ValueError as exc:
        raise click.BadParameter(f"--days must be comma-separated integers, got {days_list!r}") from exc
    if not days or min(days) < 1 or list(days) != sorted(days):
        raise click.BadParameter(f"--days must be positive and ascending, got {days_list!r}")
    click.echo(json.dumps(run(platforms=platforms, days=days, seed=seed, limit_s=limit_s), indent=2))
