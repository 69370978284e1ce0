"""`clearing defaults ...`: members in default on the running server (list, show, declare, cure), as a thin HTTP
client of its API like `clearing alerts`: the server plans the chain calls and writes the audit log."""

from __future__ import annotations

import click

from clearing.cli import cli
from clearing.commands import api_client


@cli.group("defaults")
@api_client.server_options
@click.pass_context
def defaults(ctx: click.Context, url: str | None, key: str | None) -> None:
    """Members in default on the running server (`clearing serve`): list, show, declare, cure.

    Reads CLEARING_API__URL (or CLEARING_API__HOST and CLEARING_API__PORT) and
    CLEARING_API__OPERATOR_KEY. Prints the server's JSON answer; an error
    prints one line and exits 2 (request refused) or 1 (server failed).
    """
    api_client.connect(ctx, url, key)


@defaults.command("list")
@click.option("--active", is_flag=True, help="Only members in default now (not cured).")
def list_defaults(active: bool) -> None:
    """Every default, newest first: why, what each waterfall step covered on chain, the cure."""
    api_client.call("GET", "/defaults", params={"active": "true" if active else None})


@defaults.command("show")
@click.argument("name")
def show(name: str) -> None:
    """A member's newest default."""
    api_client.call("GET", f"/members/{name}/default")


@defaults.command("declare")
@click.argument("name")
@click.option("--reason", required=True, help="Why (audited; the member reads it).")
def declare(name: str, reason: str) -> None:
    """Declare a member in default: suspended, its loss covered by the waterfall on chain."""
    api_client.call("POST", f"/members/{name}/default", {"reason": reason})


@defaults.command("cure")
@click.argument("name")
@click.option("--reason", required=True, help="Why (audited).")
def cure(name: str, reason: str) -> None:
    """Restore a member in default once the chain shows it repaid everything."""
    api_client.call("POST", f"/members/{name}/cure", {"reason": reason})
