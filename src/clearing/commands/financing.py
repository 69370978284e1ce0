"""`clearing financing ...`: receivable advances on the running server (quote, request, list), as a thin HTTP
client of its API like `clearing defaults`: a creditor member quotes and takes an advance with its own key,
the operator lists every advance with its key."""

from __future__ import annotations

import click

from clearing.cli import cli
from clearing.commands import api_client

_KEY_HELP = "An API key: a member's own for quote and request (the creditor), a member's or the operator's for list."


@cli.group("financing")
@click.option("--key", envvar=api_client.KEY_ENV, show_envvar=True, default=None, help=_KEY_HELP)
@click.option("--url", envvar="CLEARING_API__URL", show_envvar=True, default=None, help=api_client.URL_HELP)
@click.pass_context
def financing(ctx: click.Context, url: str | None, key: str | None) -> None:
    """Receivable advances on the running server (`clearing serve`): quote, request, list.

    A creditor member takes an advance from the pool on its credit pending in a
    committed cycle; at release its credit repays the pool first. Reads
    CLEARING_API__URL (or CLEARING_API__HOST and CLEARING_API__PORT). Prints the
    server's JSON answer; an error prints one line and exits 2 (request
    refused) or 1 (server failed).
    """
    api_client.connect(ctx, url, key)


@financing.command("quote")
@click.option("--cycle", "cycle_id", type=int, required=True, help="A committed cycle with credit pending to you.")
def quote(cycle_id: int) -> None:
    """What the pool would advance you now, and how it is priced (no side effect)."""
    api_client.call("GET", "/financing/quote", params={"cycle_id": cycle_id})


@financing.command("request")
@click.option("--cycle", "cycle_id", type=int, required=True, help="A committed cycle with credit pending to you.")
@click.option("--id", "request_id", required=True, help="Your idempotency key: a retry with it pays nothing twice.")
def request(cycle_id: int, request_id: str) -> None:
    """Take the advance: paid to your balance on chain now, repaid to the pool first at release."""
    api_client.call("POST", "/financing/advances", {"id": request_id, "cycle_id": cycle_id})


@financing.command("list")
@click.option("--cycle", "cycle_id", type=int, default=None, help="Only advances on this cycle.")
def list_advances(cycle_id: int | None) -> None:
    """Advances, newest first: yours (a member key) or all (the operator key), with what each still owes."""
    api_client.call("GET", "/financing/advances", params={"cycle_id": cycle_id})
