"""``clearing net`` (a stable entry point) and ``clearing bench netting``.

``clearing net --obligations FILE.csv [--available FILE.csv]`` prints
``{"positions": {member: int}, "settled": [ids], "deferred": [ids],
"gross_value": int, "settled_value": int}``. Obligations CSV header
``id,debtor,creditor,amount`` (an optional ``priority`` column is honoured,
other extra columns are ignored); available CSV header ``member,available``.
Without ``--available`` everything settles; with it, a member missing from
the file has 0. A bad file gets one ``error: FILE line N: field ...: ...``
line on stderr and exit code 2.

Large files are read column by column (:func:`read_obligation_columns`) and,
from :data:`~clearing.domain.liquidity.SCALE_MIN` obligations, solved on
numpy columns (:func:`~clearing.domain.liquidity.settle_columns`) without one
Python object per obligation; the output is the same JSON, checked exactly.
"""

from __future__ import annotations

import csv
import io
import json
import operator
from dataclasses import dataclass
from itertools import compress
from pathlib import Path

import click
import numpy as np

from clearing.adapters.stdout_guard import quiet_native_stdout
from clearing.cli import bench, cli
from clearing.commands.csv_input import bad, rows, uint

_REQUIRED = ("id", "debtor", "creditor", "amount")
_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"", "0", "false", "no", "n", "f"}


def read_obligations(path: Path) -> list:
    """Parse and validate the obligations CSV (row-level errors name line and field)."""
    from clearing.domain.types import Obligation

    out = []
    seen: dict[str, int] = {}
    for line, row in rows(path, _REQUIRED):
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


@dataclass(frozen=True)
class ObligationColumns:
    """The obligations file as columns (input order): what the at-scale solver takes."""

    ids: list[str]
    debtors: list[str]
    creditors: list[str]
    amounts: np.ndarray  # int64, every amount ≤ 18 digits

    def obligations(self) -> list:
        from clearing.domain.types import Obligation

        return [
            Obligation(i, d, c, a)
            for i, d, c, a in zip(self.ids, self.debtors, self.creditors, self.amounts.tolist(), strict=True)
        ]


def read_obligation_columns(path: Path) -> ObligationColumns | list:
    """The obligations file as columns, or as :func:`read_obligations`' list when the fast path does not apply.

    The fast path reads the whole file with the C ``csv`` reader and checks
    every rule of :func:`read_obligations` column by column (one pass in C
    or numpy per rule, not one Python call per cell). It applies to files
    whose amounts all fit 18 digits and that mark no obligation priority;
    any other file, and any file with a bad row, goes through
    :func:`read_obligations`, which names the first bad line and field.
    """
    fast = _fast_columns(path)
    return fast if fast is not None else read_obligations(path)


def _fast_columns(path: Path) -> ObligationColumns | None:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None
    header, _, body = text.partition("\n")
    try:
        names = [h.strip().lower() for h in next(csv.reader([header]), [])]
    except csv.Error:
        return None
    if len(set(names)) != len(names) or any(r not in names for r in _REQUIRED):
        return None
    table = _split_plain(body, len(names)) if _is_plain(body) else _split_csv(body, len(names))
    if table is None:
        return None
    ids, debtors, creditors, amounts = (table[names.index(f)] for f in _REQUIRED)
    if "priority" in names and not {v.lower() for v in set(table[names.index("priority")])} <= _FALSE:
        return None
    if not (all(ids) and all(debtors) and all(creditors)) or len(set(ids)) != len(ids):
        return None
    if any(map(operator.eq, debtors, creditors)):
        return None
    if amounts and (
        not all(map(str.isdigit, amounts)) or not all(map(str.isascii, amounts)) or max(map(len, amounts)) > 18
    ):
        return None
    a = np.fromiter(map(int, amounts), dtype=np.int64, count=len(amounts))
    if a.size and int(a.min()) <= 0:
        return None
    return ObligationColumns(ids, debtors, creditors, a)


def _is_plain(body: str) -> bool:
    """No quoting, no carriage returns, no blank cells to strip: ``str.split`` reads it exactly as ``csv`` would."""
    return not any(ch in body for ch in ('"', "\r", " ", "\t")) and "\n\n" not in body.rstrip("\n")


def _split_plain(body: str, k: int) -> list[list[str]] | None:
    """Columns of a plain body: one ``str.split`` in C, after checking every line has ``k`` fields (numpy)."""
    body = body.rstrip("\n")
    if not body:
        return [[] for _ in range(k)]
    raw = np.frombuffer(body.encode(), dtype=np.uint8)
    line_of = np.cumsum(raw == ord("\n"))
    lines = int(line_of[-1]) + 1
    commas = np.bincount(line_of[raw == ord(",")], minlength=lines)
    if (commas != k - 1).any():
        return None
    fields = body.replace("\n", ",").split(",")
    return [fields[j::k] for j in range(k)]


def _split_csv(body: str, k: int) -> list[list[str]] | None:
    """Columns of any other body through the ``csv`` module, cells stripped; None on a malformed row."""
    try:
        table = [r for r in csv.reader(io.StringIO(body, newline="")) if r]
    except csv.Error:
        return None
    if any(len(r) != k for r in table):
        return None
    if not table:
        return [[] for _ in range(k)]
    return [[v.strip() for v in col] for col in zip(*table, strict=True)]


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
    obligations: list | ObligationColumns,
    available: dict[str, int] | None,
    *,
    fifo: bool = False,
    time_budget: float = 1.5,
) -> dict:
    """The ``clearing net`` JSON as a dict (no I/O).

    Columns of at least :data:`~clearing.domain.liquidity.SCALE_MIN`
    obligations (without ``fifo``) go to the at-scale solver,
    :func:`~clearing.domain.liquidity.settle_columns`, without one Python
    object per obligation; everything else to
    :func:`~clearing.domain.liquidity.select_settlement`.
    """
    from clearing.domain.liquidity import SCALE_MIN, Columns, select_settlement, settle_columns
    from clearing.domain.netting import net_positions

    if isinstance(obligations, ObligationColumns):
        cols = obligations
        if available is not None and not fifo and len(cols.ids) >= SCALE_MIN and Columns.fits(cols.amounts):
            table = Columns.build(cols.ids, cols.debtors, cols.creditors, cols.amounts, available)
            result = settle_columns(table)
            return {
                "positions": {name: -int(v) for name, v in zip(table.names, result.net.tolist(), strict=True)},
                "settled": list(compress(cols.ids, result.settled.tolist())),
                "deferred": list(compress(cols.ids, (~result.settled).tolist())),
                "gross_value": table.total,
                "settled_value": result.value,
            }
        obligations = cols.obligations()
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
    obligations = read_obligation_columns(obligations_path)
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
@click.option(
    "--scale",
    is_flag=True,
    help="Only issue 15's scale cases: `clearing net` end to end against one bare HiGHS LP solve, per size.",
)
@click.option(
    "--scale-sizes",
    default="10000,100000,1000000",
    show_default=True,
    help="--scale: obligations per case, comma-separated.",
)
@click.option("--scale-members", default=400, show_default=True, help="--scale: members.")
@click.option("--scale-pct", default=3, show_default=True, help="--scale: available liquidity, % of gross debit.")
@click.option("--repeats", default=2, show_default=True, type=click.IntRange(min=1), help="--scale: runs of each.")
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
    scale: bool,
    scale_sizes: str,
    scale_members: int,
    scale_pct: int,
    repeats: int,
) -> None:
    """Netting vs numpy.bincount and liquidity saving vs Ubin deactivation, as JSON."""
    from clearing.bench.netting import run, scale_case

    if scale:
        try:
            sizes = tuple(int(x) for x in scale_sizes.split(","))
        except ValueError:
            raise click.BadParameter(f"{scale_sizes!r} is not a comma-separated list of integers") from None
        if not sizes or min(sizes) < 2:
            raise click.BadParameter("every size must be at least 2", param_hint="--scale-sizes")
        with quiet_native_stdout():
            result = scale_case(sizes, scale_members, scale_pct, seed, repeats)
        click.echo(json.dumps(result, indent=2))
        return
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
