"""`clearing disputes ...` and `clearing complaints ...`: the operator lists and resolves them on the running server.

Thin HTTP clients of `clearing serve` (see ``commands/api_client.py``): the
same routes the API documents, audited under the operator key.
"""

from __future__ import annotations

import click

from clearing.cli import cli
from clearing.commands.api_client import READS, call, connect, server_options


@cli.group("disputes")
@server_options
@click.pass_context
def disputes(ctx: click.Context, url: str | None, key: str | None) -> None:
    """Disputes of obligations on the running server (`clearing serve`): list them, uphold or reject one.

    Reads CLEARING_API__URL (or CLEARING_API__HOST and CLEARING_API__PORT) and
    CLEARING_API__OPERATOR_KEY. Prints the server's JSON answer; an error
    prints one line and exits 2 (request refused) or 1 (server failed).
    """
    connect(ctx, url, key)


@disputes.command("list", reads=READS)
@click.option("--state", type=click.Choice(["open", "upheld", "rejected", "all"]), default="open", show_default=True)
@click.option("--member", default=None, help="Only this member's (filed by it or against it).")
def list_disputes(state: str, member: str | None) -> None:
    """Disputes, newest first."""
    call("GET", "/disputes", params={"state": state, "member": member})


@disputes.command("show", reads=READS)
@click.argument("dispute_id", type=click.IntRange(min=1))
def show_dispute(dispute_id: int) -> None:
    """One dispute with its obligation and outcome."""
    call("GET", f"/disputes/{dispute_id}")


@disputes.command("resolve", reads=READS)
@click.argument("dispute_id", type=click.IntRange(min=1))
@click.option("--uphold", "decision", flag_value="uphold", help="The party was right (see the API for what moves).")
@click.option("--reject", "decision", flag_value="reject", help="The obligation stands.")
@click.option("--reason", required=True, help="Why; both parties read it.")
def resolve_dispute(dispute_id: int, decision: str | None, reason: str) -> None:
    """Uphold or reject an open dispute, with a reason (audited)."""
    if decision is None:
        raise click.UsageError("say --uphold or --reject")
    call("POST", f"/disputes/{dispute_id}/resolve", {"decision": decision, "reason": reason})


@cli.group("complaints")
@server_options
@click.pass_context
def complaints(ctx: click.Context, url: str | None, key: str | None) -> None:
    """Complaints against members on the running server (`clearing serve`): list them, validate or dismiss one.

    Reads CLEARING_API__URL (or CLEARING_API__HOST and CLEARING_API__PORT) and
    CLEARING_API__OPERATOR_KEY, like `clearing disputes`.
    """
    connect(ctx, url, key)


@complaints.command("list", reads=READS)
@click.option(
    "--state", type=click.Choice(["open", "validated", "dismissed", "all"]), default="open", show_default=True
)
@click.option("--member", default=None, help="Only this member's (filed by it or against it).")
def list_complaints(state: str, member: str | None) -> None:
    """Complaints, newest first."""
    call("GET", "/complaints", params={"state": state, "member": member})


@complaints.command("resolve", reads=READS)
@click.argument("complaint_id", type=click.IntRange(min=1))
@click.option("--validate", "decision", flag_value="validate", help="The complaint holds: it counts in the score.")
@click.option("--dismiss", "decision", flag_value="dismiss", help="It does not hold.")
@click.option("--reason", required=True, help="Why; both members read it.")
def resolve_complaint(complaint_id: int, decision: str | None, reason: str) -> None:
    """Validate or dismiss an open complaint, with a reason (audited)."""
    if decision is None:
        raise click.UsageError("say --validate or --dismiss")
    call("POST", f"/complaints/{complaint_id}/resolve", {"decision": decision, "reason": reason})
