"""``clearing forecast`` (a stable entry point): each member's next days from its daily flows.

``clearing forecast --history H.csv [--events E.csv] [--balances B.csv] [--horizon 14]`` prints
``{"horizon": N, "model": {...}, "members": {member: {"days": [{"date", "inflow_p50", "outflow_p50",
"net_p05", "net_p50", "net_p95", "net_naive", "shortfall_probability"}, ...], "shortfall_date": "YYYY-MM-DD" | null,
"topup": {"amount", "by"} | null}}}`` with amounts as decimal strings. ``H.csv``: ``member,date,inflow,outflow``
(one row per member and day; a missing day is a day without trade); ``E.csv``: ``date,event`` (past and future
occurrences of named events); ``B.csv``: ``member,balance`` at the end of the history (without it, no shortfall
or top-up is computed). Every member's forecast starts the day after the last day in the file. A bad file gets
one ``error: FILE line N: field ...: ...`` line on stderr and exit code 2.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import click

from clearing.cli import bench, cli
from clearing.commands.csv_input import bad, rows, uint
from clearing.domain.forecast import MODEL_NAME, MODEL_VERSION, DailyFlow, MemberForecast, forecast_member
from clearing.progress import Progress

_SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
_SIGNED = re.compile(r"-?[0-9]{1,78}")
#: Print progress on stderr past this many members (small runs stay quiet).
_PROGRESS_MEMBERS = 500


def _day(path: Path, line: int, field: str, text: str) -> date:
    try:
        if len(text) == 10:  # fromisoformat alone also takes 20260101 and week dates
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise bad(path, line, field, f"{text[:40]!r} is not a date (YYYY-MM-DD)")


def read_history(path: Path) -> dict[str, list[DailyFlow]]:
    """Each member's daily flows, validated (one row per member and day)."""
    out: dict[str, list[DailyFlow]] = defaultdict(list)
    seen: dict[tuple[str, date], int] = {}
    for line, row in rows(path, ("member", "date", "inflow", "outflow")):
        member = row["member"]
        if not member:
            raise bad(path, line, "member", "is empty")
        day = _day(path, line, "date", row["date"])
        if (member, day) in seen:
            raise bad(path, line, "date", f"second row for {member!r} on {day} (first on line {seen[member, day]})")
        seen[member, day] = line
        inflow = uint(path, line, "inflow", row["inflow"], positive=False)
        outflow = uint(path, line, "outflow", row["outflow"], positive=False)
        out[member].append(DailyFlow(day, inflow, outflow))
    if not out:
        raise bad(path, None, None, "no rows: expected one row per member and day after the header")
    return dict(out)


def read_events(path: Path) -> dict[date, frozenset[str]]:
    """Named calendar events by day (a day may carry several)."""
    out: dict[date, set[str]] = defaultdict(set)
    for line, row in rows(path, ("date", "event")):
        day = _day(path, line, "date", row["date"])
        name = row["event"]
        if not _SLUG.fullmatch(name):
            raise bad(path, line, "event", f"{name[:40]!r} is not an event name (letters, digits, - _ . :)")
        out[day].add(name)
    return {d: frozenset(names) for d, names in out.items()}


def read_balances(path: Path) -> dict[str, int]:
    """Each member's balance at the end of the history (may be negative: credit drawn)."""
    out: dict[str, int] = {}
    first: dict[str, int] = {}
    for line, row in rows(path, ("member", "balance")):
        member = row["member"]
        if not member:
            raise bad(path, line, "member", "is empty")
        if member in out:
            raise bad(path, line, "member", f"duplicate member {member!r} (first on line {first[member]})")
        text = row["balance"]
        if not _SIGNED.fullmatch(text):
            raise bad(path, line, "balance", f"{text[:40]!r} is not a whole number of token units")
        first[member] = line
        out[member] = int(text)
    return out


def forecast_report(
    history: dict[str, list[DailyFlow]],
    events: dict[date, frozenset[str]],
    balances: dict[str, int],
    horizon: int,
    progress: Progress | None = None,
) -> dict[str, object]:
    """The ``clearing forecast`` JSON as a dict (no I/O but progress)."""
    last = max(f.day for flows in history.values() for f in flows)
    members: dict[str, object] = {}
    for i, (member, flows) in enumerate(sorted(history.items())):
        # Every member ends on the file's last day: the days it has no row for are days without trade.
        if max(f.day for f in flows) < last:
            flows = [*flows, DailyFlow(last, 0, 0)]
        members[member] = _member_json(forecast_member(member, flows, horizon=horizon, events=events,
                                                       balance=balances.get(member)))  # fmt: skip
        if progress is not None and (i + 1) % 1000 == 0:
            progress(f"{i + 1}/{len(history)} members")
    return {
        "horizon": horizon,
        "start": (last + timedelta(1)).isoformat(),
        "model": {"name": MODEL_NAME, "version": MODEL_VERSION},
        "members": members,
    }


def _member_json(f: MemberForecast) -> dict[str, object]:
    return {
        "days": [
            {
                "date": d.day.isoformat(),
                "inflow_p50": str(d.inflow_p50),
                "outflow_p50": str(d.outflow_p50),
                "net_p05": str(d.net_p05),
                "net_p50": str(d.net_p50),
                "net_p95": str(d.net_p95),
                "net_naive": str(d.naive_net),
                "shortfall_probability": d.shortfall_probability,
            }
            for d in f.days
        ],
        "shortfall_date": f.shortfall_date.isoformat() if f.shortfall_date else None,
        "topup": {"amount": str(f.topup.amount), "by": f.topup.by.isoformat()} if f.topup else None,
        "model": f.model,
    }


_FILE = click.Path(dir_okay=False, path_type=Path)


@cli.command("forecast")
@click.option("--history", "history_path", required=True, type=_FILE, help="CSV member,date,inflow,outflow.")
@click.option("--events", "events_path", type=_FILE, help="CSV date,event: named events, past and future.")
@click.option("--balances", "balances_path", type=_FILE, help="CSV member,balance at the end of the history.")
@click.option("--horizon", default=14, show_default=True, type=click.IntRange(1, 31), help="Days ahead.")
def forecast(history_path: Path, events_path: Path | None, balances_path: Path | None, horizon: int) -> None:
    """Forecast each member's daily flows with p05/p50/p95 bands, its shortfall date and top-up advice."""
    history = read_history(history_path)
    events = read_events(events_path) if events_path is not None else {}
    balances = read_balances(balances_path) if balances_path is not None else {}
    progress = Progress("forecast") if len(history) > _PROGRESS_MEMBERS else None
    click.echo(json.dumps(forecast_report(history, events, balances, horizon, progress)))


@bench.command("forecast")
@click.option("--members", default=200, show_default=True, help="Members in the accuracy run.")
@click.option("--days", default=365, show_default=True, help="Days of history.")
@click.option("--horizon", default=14, show_default=True, type=click.IntRange(2, 31))
@click.option("--seed", default=2026, show_default=True)
@click.option("--speed-members", default=10_000, show_default=True, help="Members in the speed run (0: skip).")
@click.option(
    "--pipeline-members",
    default=0,
    show_default=True,
    help="Members in a PostgreSQL ledger forecast through the service, against the bare model (0: skip).",
)
@click.option("--pipeline-obligations", default=2_000_000, show_default=True, help="Obligations in that ledger.")
@click.option(
    "--pg-url",
    default=None,
    envvar="CLEARING_TEST_POSTGRES_URL",
    show_envvar=True,
    help="PostgreSQL server for the pipeline run: a fresh database is made there, then dropped.",
)
def bench_forecast(
    members: int,
    days: int,
    horizon: int,
    seed: int,
    speed_members: int,
    pipeline_members: int,
    pipeline_obligations: int,
    pg_url: str | None,
) -> None:
    """Rolling-origin accuracy vs seasonal naive, band coverage, shortfall recall/precision, speed, and what
    the service's pipeline adds to the bare model, as JSON."""
    from clearing.bench.forecast import run

    out = run(members=members, days=days, horizon=horizon, seed=seed, speed_members=speed_members)
    if pipeline_members:
        from clearing.bench import forecast_pipeline
        from clearing.progress import Progress

        out["pipeline"] = forecast_pipeline.run(
            members=pipeline_members,
            obligations=pipeline_obligations,
            seed=seed,
            pg_url=pg_url,
            progress=Progress("bench forecast"),
        )
    click.echo(json.dumps(out, indent=2))
