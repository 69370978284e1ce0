"""`clearing credit ...`: members' credit on the running server (scores, one member's credit and why,
tier migrations, overrides, rescoring), as a thin HTTP client of its API like `clearing cycles`: the
server is the one process that writes the audit log and sends the chain's limits."""

from __future__ import annotations

from typing import Any

import click

from clearing.cli import cli
from clearing.commands import api_client


@cli.group("credit")
@api_client.server_options
@click.pass_context
def credit(ctx: click.Context, url: str | None, key: str | None) -> None:
    """Members' credit on the running server (`clearing serve`): scores, why, migrations, overrides.

    Reads CLEARING_API__URL (or CLEARING_API__HOST and CLEARING_API__PORT) and
    CLEARING_API__OPERATOR_KEY. Prints the server's JSON answer; an error
    prints one line and exits 2 (request refused) or 1 (server or chain failed).
    """
    api_client.connect(ctx, url, key)


@credit.command("scores")
def scores() -> None:
    """Every member's score, tier, line and limit on chain."""
    api_client.call("GET", "/credit/scores")


@credit.command("show")
@click.argument("name")
def show(name: str) -> None:
    """One member's credit: score and factors, tier and why, line and formula, history."""
    api_client.call("GET", f"/members/{name}/credit")


@credit.command("migrations")
@click.option("--member", default=None, help="Only this member.")
@click.option("--limit", type=click.IntRange(1, 1000), default=200, show_default=True)
def migrations(member: str | None, limit: int) -> None:
    """Tier migrations, newest first."""
    api_client.call("GET", "/credit/migrations", params={"limit": limit, **({"member": member} if member else {})})


@credit.command("rescore")
@click.option("--member", default=None, help="Only this member (default: all).")
def rescore(member: str | None) -> None:
    """Rescore now (the schedule and every settled cycle do it too)."""
    api_client.call("POST", "/credit/rescore", {"member": member} if member else {})


@credit.command("override")
@click.argument("name")
@click.option("--reason", required=True, help="Why (audited, shown to the member).")
@click.option("--until", required=True, help="When the pin ends: ISO 8601 with zone, e.g. 2030-01-31T12:00:00Z.")
@click.option("--tier", type=click.Choice(["A", "B", "C"]), default=None, help="Pin this tier.")
@click.option("--line", "credit_line", type=click.IntRange(min=0), default=None, help="Pin this line (units).")
@click.option("--above-cap", is_flag=True, help="Let the line exceed 30% of average monthly volume.")
def override(name: str, reason: str, until: str, tier: str | None, credit_line: int | None, above_cap: bool) -> None:
    """Pin a member's tier and/or line until a time."""
    body: dict[str, Any] = {"reason": reason, "expires_at": until, "above_cap": above_cap}
    if tier is not None:
        body["tier"] = tier
    if credit_line is not None:
        body["credit_line"] = str(credit_line)
    api_client.call("POST", f"/members/{name}/credit/override", body)


@credit.command("end-override")
@click.argument("name")
@click.option("--reason", required=True, help="Why (audited).")
def end_override(name: str, reason: str) -> None:
    """End a member's pin in force: the score decides again."""
    api_client.call("DELETE", f"/members/{name}/credit/override", params={"reason": reason})
