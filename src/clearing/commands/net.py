"""``clearing net`` (a stable entry point) and ``clearing bench netting``.

``clearing net --obligations FILE.csv [--available FILE.csv]`` prints
``{"positions": {member: int}, "settled": [ids], "deferred": [ids],
"gross_value": int, "settled_value": int}``. Obligations CSV header
``id,debtor,creditor,amount`` (an optional ``priority`` column is honoured,
other extra columns are ignored); available CSV header ``member,available``.
Without ``--available`` everything settles; with it, a member missing from
the file has 0. A bad file gets one ``error: FILE line N: field ...: ...``
line on stderr and exit code 2.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from clearing.adapters.stdout_guard import quiet_native_stdout
from clearing.cli import bench, cli
from clearing.commands.csv_input import bad, rows, uint

_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"", "0", "false", "no", "n", "f"}


def read_obligations(path: Path) -> list:
    """Parse and validate the obligations CSV (row-level errors name line and field)."""
    from clearing.domain.types import Obligation

    out = []
    seen: dict[str, int] = {}
    for line, row in rows(path, ("id", "debtor", "creditor", "amount")):
        oid = row["id"]
        if not oid:
            raise bad(path, line, "id", "is empty")
        if oid in seen:
            raise bad(path, line, "id", f"duplicate id {oid!r} (first on line {seen[oid]})")
        seen[oid] = line
        debtor, creditor = row["debtor"], row["creditor"]
        if not debtor:
            raise bad(path, line, "debtor", "is empty")
        if not creditor:
            raise bad(path, line, "creditor", "is empty")
        if debtor == creditor:
            raise bad(path, line, "creditor", f"same as debtor {debtor!r}")
        amount = uint(path, line, "amount", row["amount"], positive=True)
        flag = row.get("priority", "").lower()
        if flag not in _TRUE and flag not in _FALSE:
            raise bad(path, line, "priority", f"{row['priority']!r} is not true/false")
        out.append(Obligation(oid, debtor, creditor, amount, flag in _TRUE))
    return out


def read_available(path: Path) -> dict[str, int]:
    """Parse and validate the available-liquidity CSV."""
    out: dict[str, int] = {}
    first: dict[str, int] = {}
    for line, row in rows(path, ("member", "available")):
        member = row["member"]
        if not member:
            raise bad(path, line, "member", "is empty")
        if member in out:
            raise bad(path, line, "member", f"duplicate member {member!r} (first on line {first[member]})")
        first[member] = line
        out[member] = uint(path, line, "available", row["available"], positive=False)
    return out


def net_report(
    obligations: list, available: dict[str, int] | None, *, fifo: bool = False, time_budget: float = 1.5
) -> dict:
    """The ``clearing net`` JSON as a dict (no I/O)."""
    from clearing.domain.liquidity import select_settlement
    from clearing.domain.netting import net_positions

    if available is None:
        positions = net_positions(obligations)
        return {
            "positions": positions,
            "settled": [o.id for o in obligations],
            "deferred": [],
            "gross_value": sum(o.amount for o in obligations),
            "settled_value": sum(o.amount for o in obligations),
        }
    plan = select_settlement(obligations, available, fifo=fifo, time_budget=time_budget)
    return {
        "positions": plan.positions,
        "settled": list(plan.settled),
        "deferred": [d.id for d in plan.deferred],
        "gross_value": plan.gross_value,
        "settled_value": plan.settled_value,
    }


@cli.command("net")
@click.option(
    "--obligations",
    "obligations_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="CSV with header id,debtor,creditor,amount (amounts in smallest token units).",
)
@click.option(
    "--available",
    "available_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="CSV with header member,available. Without it everything settles.",
)
@click.option("--fifo", is_flag=True, help="Settle a debtor's obligation only if all its earlier ones settle.")
@click.option(
    "--time-budget",
    default=1.5,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Seconds the liquidity-saving solver may use.",
)
def net(obligations_path: Path, available_path: Path | None, fifo: bool, time_budget: float) -> None:
    """Net obligations multilaterally; with --available, settle the most value the liquidity allows."""
    obligations = read_obligations(obligations_path)
    available = read_available(available_path) if available_path is not None else None
    with quiet_native_stdout():
        report = net_report(obligations, available, fifo=fifo, time_budget=time_budget)
    click.echo(json.dumps(report))


@bench.command("netting")
@click.option("--seed", default=2026, show_default=True)
@click.option("--obligations", "n_obligations", default=1_000_000, show_default=True, help="Netting: obligations.")
@click.option("--members", "n_members", default=1_000, show_default=True, help="Netting: members.")
@click.option("--liq-obligations", default=10_000, show_default=True, help="Liquidity saving: obligations.")
@click.option("--liq-members", default=50, show_default=True, help="Liquidity saving: members.")
@click.option(
    "--liquidity-pct", default=20, show_default=True, help="Available liquidity, % of each member's gross debit."
)
@click.option("--time-budget", default=1.5, show_default=True, help="Solver budget (s) for select_settlement.")
@click.option("--reference-seconds", default=60.0, show_default=True, help="MILP time for the proven optimum.")
@click.option("--scenario", type=click.Choice(["skewed", "uniform"]), default="skewed", show_default=True)
@click.option("--fifo/--no-fifo", default=True, show_default=True, help="Also run the FIFO variant.")
def bench_netting(
    seed: int,
    n_obligations: int,
    n_members: int,
    liq_obligations: int,
    liq_members: int,
    liquidity_pct: int,
    time_budget: float,
    reference_seconds: float,
    scenario: str,
    fifo: bool,
) -> None:
    """Netting vs numpy.bincount and liquidity saving vs Ubin deactivation, as JSON."""
    from clearing.bench.netting import run

    with quiet_native_stdout():
        result = run(
            seed=seed,
            n_obligations=n_obligations,
            n_members=n_members,
            liq_obligations=liq_obligations,
            liq_members=liq_members,
            liquidity_pct=liquidity_pct,
            time_budget=time_budget,
            reference_seconds=reference_seconds,
            scenario=scenario,
            fifo=fifo,
        )
    click.echo(json.dumps(result, indent=2))
