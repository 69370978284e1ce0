"""`clearing calendar ...`: the event calendar forecasts learn from, on the running server, as a thin HTTP
client of its API like `clearing credit`: the server is the one process that writes the audit log."""

from __future__ import annotations

import click

from clearing.cli import cli
from clearing.commands import api_client


@cli.group("calendar")
@api_client.server_options
@click.pass_context
def calendar(ctx: click.Context, url: str | None, key: str | None) -> None:
    """Named days forecasts learn from (sales, paydays), on the running server (`clearing serve`).

    Reads CLEARING_API__URL (or CLEARING_API__HOST and CLEARING_API__PORT) and
    CLEARING_API__OPERATOR_KEY. Prints the server's JSON answer; an error
    prints one line and exits 2 (request refused) or 1 (server failed).
    """
    api_client.connect(ctx, url, key)


@calendar.command("list")
def list_events() -> None:
    """Every event, by day."""
    api_client.call("GET", "/calendar/events")


@calendar.command("add")
@click.argument("day", metavar="YYYY-MM-DD")
@click.argument("name")
def add(day: str, name: str) -> None:
    """Put NAME (a slug, e.g. double-11) on DAY; the same pair again changes nothing."""
    api_client.call("POST", "/calendar/events", {"date": day, "name": name})


@calendar.command("remove")
@click.argument("event_id", type=click.IntRange(min=1))
def remove(event_id: int) -> None:
    """Take event EVENT_ID off the calendar."""
    api_client.call("DELETE", f"/calendar/events/{event_id}")
