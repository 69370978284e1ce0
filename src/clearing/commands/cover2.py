"""`clearing cover2`: the house's latest Cover 2 from the running server (`--run`: computed now), as a thin
HTTP client of its API like `clearing alerts`: the server reads the chain and writes the audit log."""

from __future__ import annotations

import click

from clearing.cli import cli
from clearing.commands import api_client


@cli.command("cover2", reads=api_client.READS)
@api_client.server_options
@click.option("--run", "run_now", is_flag=True, help="Compute it now (audited; its alert opens or resolves with it).")
def cover2(url: str | None, key: str | None, run_now: bool) -> None:
    """Cover 2: the loss if the two members with the largest exposure default together, against the pool.

    Prints the server's JSON (GET /cover2, or POST /cover2/run with --run): the two members with their
    drawn credit, net debit in flight and collateral, the loss, the pool's resources, the surplus
    (negative: the shortfall), covered or not, and the coverage in basis points. An error prints one
    line and exits 2 (request refused) or 1 (server or chain failed).
    """
    api_client.connect(click.get_current_context(), url, key)
    if run_now:
        api_client.call("POST", "/cover2/run")
    else:
        api_client.call("GET", "/cover2")
