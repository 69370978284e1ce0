"""`clearing cycles ...`: the operator's cycle commands, sent to the running server's API.

The server is the one process that signs with the operator key (its chain
writer keeps the nonces) and writes the audit log, so these commands are
thin HTTP clients of it rather than a second writer: every action is the
same route the API documents, audited under the operator key, and keyed by
``--id`` where a retry must not act twice.
"""

from __future__ import annotations

from typing import Any

import click

from clearing.cli import cli
from clearing.commands.api_client import READS, call, connect, server_options


@cli.group("cycles")
@server_options
@click.pass_context
def cycles(ctx: click.Context, url: str | None, key: str | None) -> None:
    """Run cycles on the running server (`clearing serve`): settle, or commit and release later or in part.

    Reads CLEARING_API__URL (or CLEARING_API__HOST and CLEARING_API__PORT) and
    CLEARING_API__OPERATOR_KEY. Prints the server's JSON answer; an error
    prints one line and exits 2 (request refused) or 1 (server or chain failed).
    """
    connect(ctx, url, key)


def _amounts(pairs: tuple[str, ...], option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, units = pair.partition("=")
        if not sep or not name or not units.isdigit():
            raise click.BadParameter(f"{pair!r}: expected MEMBER=UNITS (integer units)", param_hint=option)
        out[name] = units
    return out


def _id(request_id: str | None) -> dict[str, str]:
    return {"id": request_id} if request_id else {}


@cycles.command("list", reads=READS)
def list_cmd() -> None:
    """Recent cycles."""
    call("GET", "/cycles")


@cycles.command("show", reads=READS)
@click.argument("cycle_id", type=click.IntRange(min=1))
def show(cycle_id: int) -> None:
    """One cycle with its net positions."""
    call("GET", f"/cycles/{cycle_id}")


@cycles.command("open", reads=READS)
def open_cmd() -> None:
    """The open cycle (created if there is none)."""
    call("POST", "/cycles")


@cycles.command("close", reads=READS)
@click.argument("cycle_id", type=click.IntRange(min=1))
def close(cycle_id: int) -> None:
    """Cut-off: take eligible obligations into the cycle."""
    call("POST", f"/cycles/{cycle_id}/close")


@cycles.command("settle", reads=READS)
@click.argument("cycle_id", type=click.IntRange(min=1))
def settle(cycle_id: int) -> None:
    """Net and settle on chain in one call: creditors are paid at once."""
    call("POST", f"/cycles/{cycle_id}/settle")


@cycles.command("commit", reads=READS)
@click.argument("cycle_id", type=click.IntRange(min=1))
def commit(cycle_id: int) -> None:
    """Net and commit into escrow: creditors are paid when you release."""
    call("POST", f"/cycles/{cycle_id}/commit")


@cycles.command("escrow", reads=READS)
@click.argument("cycle_id", type=click.IntRange(min=1))
def escrow(cycle_id: int) -> None:
    """The cycle's escrow on chain and the actions taken on it."""
    call("GET", f"/cycles/{cycle_id}/escrow")


@cycles.command("release", reads=READS)
@click.argument("cycle_id", type=click.IntRange(min=1))
@click.option("--id", "request_id", default=None, help="Idempotency key (optional here).")
def release(cycle_id: int, request_id: str | None) -> None:
    """Release every creditor's whole pending credit."""
    call("POST", f"/cycles/{cycle_id}/release", _id(request_id))


@cycles.command("release-partial", reads=READS)
@click.argument("cycle_id", type=click.IntRange(min=1))
@click.option("--id", "request_id", required=True, help="Idempotency key: repeat it to retry safely.")
@click.option("--amount", "amounts", multiple=True, required=True, help="CREDITOR=UNITS (repeatable).")
def release_partial(cycle_id: int, request_id: str, amounts: tuple[str, ...]) -> None:
    """Release chosen amounts of chosen creditors' pending credit."""
    call("POST", f"/cycles/{cycle_id}/release/partial", {"id": request_id, "amounts": _amounts(amounts, "--amount")})


@cycles.command("release-pro-rata", reads=READS)
@click.argument("cycle_id", type=click.IntRange(min=1))
@click.option("--id", "request_id", required=True, help="Idempotency key: repeat it to retry safely.")
@click.option("--bps", type=click.IntRange(1, 10_000), required=True, help="Share in basis points (5000 = half).")
@click.option("--creditor", "creditors", multiple=True, help="Only these creditors (repeatable; default all).")
def release_pro_rata(cycle_id: int, request_id: str, bps: int, creditors: tuple[str, ...]) -> None:
    """Release the same share of each creditor's pending credit (rounded down)."""
    body: dict[str, Any] = {"id": request_id, "bps": bps}
    if creditors:
        body["creditors"] = list(creditors)
    call("POST", f"/cycles/{cycle_id}/release/pro-rata", body)


@cycles.command("hold", reads=READS)
@click.argument("cycle_id", type=click.IntRange(min=1))
@click.option("--until", required=True, help="ISO 8601 time with zone, e.g. 2030-01-31T12:00:00Z.")
@click.option("--id", "request_id", default=None, help="Idempotency key (optional here).")
def hold(cycle_id: int, until: str, request_id: str | None) -> None:
    """Block releases and claims until a time (refunds stay possible)."""
    call("POST", f"/cycles/{cycle_id}/hold", {"until": until, **_id(request_id)})


@cycles.command("refund", reads=READS)
@click.argument("cycle_id", type=click.IntRange(min=1))
@click.option("--id", "request_id", default=None, help="Idempotency key (required with --cancel/--refund).")
@click.option("--cancel", "cancel", multiple=True, help="CREDITOR=UNITS of pending credit to cancel (repeatable).")
@click.option("--refund", "refund", multiple=True, help="DEBTOR=UNITS to give back (repeatable; same total).")
def refund(cycle_id: int, request_id: str | None, cancel: tuple[str, ...], refund: tuple[str, ...]) -> None:
    """Return pending credit to debtors: everything left (default) or chosen amounts."""
    body: dict[str, Any] = _id(request_id)
    if cancel or refund:
        body |= {"cancel": _amounts(cancel, "--cancel"), "refund": _amounts(refund, "--refund")}
    call("POST", f"/cycles/{cycle_id}/refund", body)
