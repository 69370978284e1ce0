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

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path

import click

from clearing.adapters.stdout_guard import quiet_native_stdout
from clearing.cli import bench, cli
from clearing.errors import ValidationError

_UINT = re.compile(r"[0-9]+")
_UINT256_MAX = 2**256 - 1
_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"", "0", "false", "no", "n", "f"}


def _bad(path: Path, line: int | None, field: str | None, problem: str) -> ValidationError:
    where = f"{path} line {line}" if line is not None else str(path)
    what = f": field {field!r}" if field else ""
    return ValidationError(f"{where}{what}: {problem}", field=field, file=str(path), line=line)


def _rows(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) for each non-blank data row; validates the header."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise _bad(path, None, None, f"cannot read file: {exc.strerror or exc}") from None
    with handle:
        reader = csv.reader(handle)
        try:
            header = next(reader, None)
            while header is not None and not any(cell.strip() for cell in header):
                header = next(reader, None)
            if header is None:
                raise _bad(path, None, None, f"empty file; expected the header {','.join(required)}")
            names = [h.strip().lower() for h in header]
            missing = [r for r in required if r not in names]
            if missing:
                raise _bad(
                    path,
                    reader.line_num,
                    missing[0],
                    f"header lacks column {missing[0]!r}; expected {','.join(required)}",
                )
            dupes = sorted({n for n in names if names.count(n) > 1 and n})
            if dupes:
                raise _bad(path, reader.line_num, dupes[0], "column appears twice in the header")
            for cells in reader:
                if not any(cell.strip() for cell in cells):
                    continue
                if len(cells) != len(names):
                    raise _bad(path, reader.line_num, None, f"expected {len(names)} fields, found {len(cells)}")
                yield reader.line_num, {n: cell.strip() for n, cell in zip(names, cells, strict=True)}
        except csv.Error as exc:
            raise _bad(path, reader.line_num, None, f"malformed CSV: {exc}") from None
        except UnicodeDecodeError:
            raise _bad(path, reader.line_num + 1, None, "not UTF-8 text") from None


def _uint(path: Path, line: int, field: str, text: str, *, positive: bool) -> int:
    if not _UINT.fullmatch(text):
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise _bad(path, line, field, f"{shown!r} is not a whole number of token units (digits only)")
    digits = text.lstrip("0") or "0"
    if len(digits) > 78 or int(digits) > _UINT256_MAX:  # 78 digits bound int() before Python's 4300-digit limit
        raise _bad(path, line, field, "does not fit a uint256")
    value = int(digits)
    if positive and value <= 0:
        raise _bad(path, line, field, "must be greater than 0")
    return value


def read_obligations(path: Path) -> list:
    """Parse and validate the obligations CSV (row-level errors name line and field)."""
    from clearing.domain.types import Obligation

    out = []
    seen: dict[str, int] = {}
    for line, row in _rows(path, ("id", "debtor", "creditor", "amount")):
        oid = row["id"]
        if not oid:
            raise _bad(path, line, "id", "is empty")
        if oid in seen:
            raise _bad(path, line, "id", f"duplicate id {oid!r} (first on line {seen[oid]})")
        seen[oid] = line
        debtor, creditor = row["debtor"], row["creditor"]
        if not debtor:
            raise _bad(path, line, "debtor", "is empty")
        if not creditor:
            raise _bad(path, line, "creditor", "is empty")
        if debtor == creditor:
            raise _bad(path, line, "creditor", f"same as debtor {debtor!r}")
        amount = _uint(path, line, "amount", row["amount"], positive=True)
        flag = row.get("priority", "").lower()
        if flag not in _TRUE and flag not in _FALSE:
            raise _bad(path, line, "priority", f"{row['priority']!r} is not true/false")
        out.append(Obligation(oid, debtor, creditor, amount, flag in _TRUE))
    return out


def read_available(path: Path) -> dict[str, int]:
    """Parse and validate the available-liquidity CSV."""
    out: dict[str, int] = {}
    first: dict[str, int] = {}
    for line, row in _rows(path, ("member", "available")):
        member = row["member"]
        if not member:
            raise _bad(path, line, "member", "is empty")
        if member in out:
            raise _bad(path, line, "member", f"duplicate member {member!r} (first on line {first[member]})")
        first[member] = line
        out[member] = _uint(path, line, "available", row["available"], positive=False)
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
