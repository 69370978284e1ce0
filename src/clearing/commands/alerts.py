"""`clearing alerts ...`: alerts on the running server (list, acknowledge, resolve, evaluate now, a member's
thresholds), as a thin HTTP client of its API like `clearing credit`: the server writes the audit log."""

from __future__ import annotations

from typing import Any

import click

from clearing.cli import cli
from clearing.commands import api_client

_KINDS = ["headroom_low", "projected_shortfall", "obligations_carried", "hold_open_too_long", "credit_utilisation_high"]


@cli.group("alerts")
@api_client.server_options
@click.pass_context
def alerts(ctx: click.Context, url: str | None, key: str | None) -> None:
    """Alerts on the running server (`clearing serve`): list, acknowledge, resolve, evaluate, thresholds.

    Reads CLEARING_API__URL (or CLEARING_API__HOST and CLEARING_API__PORT) and
    CLEARING_API__OPERATOR_KEY. Prints the server's JSON answer; an error
    prints one line and exits 2 (request refused) or 1 (server failed).
    """
    api_client.connect(ctx, url, key)


@alerts.command("list")
@click.option(
    "--state",
    type=click.Choice(["active", "open", "acknowledged", "resolved", "all"]),
    default="active",
    show_default=True,
)
@click.option("--member", default=None, help="Only this member's.")
@click.option(
    "--kind",
    type=click.Choice(
        [*_KINDS, "writer_stuck", "webhook_disabled", "cover2_uncovered", "member_defaulted", "liquidator_short"]
    ),
    default=None,
    help="Only this kind.",
)
def list_alerts(state: str, member: str | None, kind: str | None) -> None:
    """Alerts, newest first (active: open or acknowledged)."""
    params: dict[str, Any] = {
        "state": state,
        **({"member": member} if member else {}),
        **({"kind": kind} if kind else {}),
    }
    api_client.call("GET", "/alerts", params=params)


@alerts.command("ack")
@click.argument("alert_id", type=click.IntRange(min=1))
def ack(alert_id: int) -> None:
    """Acknowledge an alert (it stays until its condition clears or it is resolved)."""
    api_client.call("POST", f"/alerts/{alert_id}/acknowledge")


@alerts.command("resolve")
@click.argument("alert_id", type=click.IntRange(min=1))
@click.option("--reason", required=True, help="Why (audited).")
def resolve(alert_id: int, reason: str) -> None:
    """Resolve an alert by hand."""
    api_client.call("POST", f"/alerts/{alert_id}/resolve", {"reason": reason})


@alerts.command("evaluate")
def evaluate() -> None:
    """Evaluate every rule now (the scheduler does it every CLEARING_ALERTS__EVALUATE_SECONDS)."""
    api_client.call("POST", "/alerts/evaluate")


@alerts.command("thresholds")
@click.argument("name")
@click.option(
    "--set",
    "values",
    multiple=True,
    metavar="KIND=VALUE",
    help=f"Override a threshold (VALUE 'tier' removes the override); kinds: {', '.join(_KINDS)}.",
)
@click.option("--reason", default=None, help="Why (audited; required with --set).")
def thresholds(name: str, values: tuple[str, ...], reason: str | None) -> None:
    """A member's thresholds and their source; with --set, override them first."""
    if not values:
        api_client.call("GET", f"/members/{name}/alert-thresholds")
        return
    if not reason:
        raise click.UsageError("--reason is required with --set")
    body: dict[str, Any] = {"reason": reason}
    for item in values:
        kind, sep, value = item.partition("=")
        if not sep or kind not in _KINDS:
            raise click.UsageError(f"--set takes KIND=VALUE with KIND one of {', '.join(_KINDS)}: {item!r}")
        if value != "tier" and not value.isdigit():
            raise click.UsageError(f"--set {kind}: VALUE is a whole number or 'tier': {value!r}")
        body[kind] = None if value == "tier" else int(value)
    api_client.call("PUT", f"/members/{name}/alert-thresholds", body)
