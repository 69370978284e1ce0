"""`clearing cover2`: the house's latest Cover 2 from the running server (`--run`: computed now), as a thin
HTTP client of its API like `clearing alerts`: the server reads the chain and writes the audit log."""

from __future__ import annotations

import click

from clearing.cli import cli
from clearing.commands import api_client


@cli.command("cover2", reads=api_client.READS)
@api_client.server_options
@click.option("--run", "run_now", is_flag=True, help="Compute it now (audited; its alert opens or resolves with it).")
@click.option(
    "--what-if",
    "what_if",
    is_flag=True,
    help="Stress test instead: the two largest exposures default, then demand × --demand for --days (forecasts).",
)
@click.option("--days", type=click.IntRange(1, 31), default=None, help="--what-if: days ahead (default: 14).")
@click.option("--demand", type=click.FloatRange(0, 10, min_open=True), default=2.0, show_default=True,
              help="--what-if: multiple of the forecast demand.")  # fmt: skip
def cover2(url: str | None, key: str | None, run_now: bool, what_if: bool, days: int | None, demand: float) -> None:
    """Cover 2: the loss if the two members with the largest exposure default together, against the pool.

    Prints the server's JSON (GET /cover2, or POST /cover2/run with --run): the two members with their
    drawn credit, net debit in flight and collateral, the loss, the pool's resources, the surplus
    (negative: the shortfall), covered or not, and the coverage in basis points. With --what-if, GET
    /cover2/what-if: those two default now and the others run at --demand × their forecast for --days; the
    pool left, the credit the others would draw from it, who runs short, Cover 2 after. An error prints one
    line and exits 2 (request refused) or 1 (server or chain failed).
    """
    api_client.connect(click.get_current_context(), url, key)
    if what_if:
        params: dict[str, object] = {"demand": demand} if days is None else {"demand": demand, "days": days}
        api_client.call("GET", "/cover2/what-if", params=params)
    elif run_now:
        api_client.call("POST", "/cover2/run")
    else:
        api_client.call("GET", "/cover2")
