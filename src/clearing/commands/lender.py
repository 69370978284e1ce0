"""`clearing lender ...`: the credit pool for a lender, as a thin HTTP client of the running server's public
`/pool` routes: status, a lender's position and pnl, the withdrawal queue, and the unsigned transactions a
lender's own wallet signs and sends (deposit, withdraw, redeem, queue, cancel). Nothing here signs or sends:
the house never holds a lender's key."""

from __future__ import annotations

import click

from clearing.cli import cli
from clearing.commands import api_client

_POSITIVE = click.IntRange(min=1)
_TO = click.option("--to", default=None, metavar="ADDRESS", help="Recipient of the tokens (default: the lender).")


@cli.group("lender")
@api_client.server_options
@click.pass_context
def lender(ctx: click.Context, url: str | None, key: str | None) -> None:
    """The credit pool for lenders on the running server (`clearing serve`): status, position, queue, and the
    transactions to sign (printed as JSON, in order; nothing is sent).

    Reads CLEARING_API__URL (or CLEARING_API__HOST and CLEARING_API__PORT). The pool routes need no key.
    Amounts and shares are integers in the token's smallest unit. An error prints one line and exits 2
    (request refused: the problem names the field and the values) or 1 (server or chain failed).
    """
    api_client.connect(ctx, url, key)


@lender.command("status", reads=api_client.READS)
def status() -> None:
    """The pool: total, drawn, utilisation, shares and price, borrow and supply rates, queue bounds."""
    api_client.call("GET", "/pool", needs_key=False)


@lender.command("position", reads=api_client.READS)
@click.argument("lender_address", metavar="LENDER")
def position(lender_address: str) -> None:
    """LENDER's shares, assets, queued requests, what it can withdraw now, and its pnl."""
    api_client.call("GET", "/pool", params={"lender": lender_address}, needs_key=False)


@lender.command("withdrawals", reads=api_client.READS)
@click.option("--after", type=click.IntRange(min=0), default=None, help="Start at this request id.")
@click.option("--limit", type=click.IntRange(1, 200), default=50, show_default=True, help="Request slots read.")
def withdrawals(after: int | None, limit: int) -> None:
    """The withdrawal queue in payment order."""
    api_client.call("GET", "/pool/withdrawals", params={"after": after, "limit": limit}, needs_key=False)


@lender.command("deposit", reads=api_client.READS)
@click.argument("lender_address", metavar="LENDER")
@click.argument("amount", type=_POSITIVE)
def deposit(lender_address: str, amount: int) -> None:
    """Transactions that lend AMOUNT: approve (if the allowance is short), then poolDeposit."""
    api_client.call("POST", "/pool/prepare-deposit", {"lender": lender_address, "amount": str(amount)}, needs_key=False)


@lender.command("withdraw", reads=api_client.READS)
@click.argument("lender_address", metavar="LENDER")
@click.argument("amount", type=_POSITIVE)
@_TO
def withdraw(lender_address: str, amount: int, to: str | None) -> None:
    """The transaction that takes AMOUNT out: poolWithdraw (refused with the shares to queue when the pool's
    undrawn part is short or requests wait)."""
    body = {"lender": lender_address, "amount": str(amount), **({"to": to} if to else {})}
    api_client.call("POST", "/pool/prepare-withdrawal", body, needs_key=False)


@lender.command("redeem", reads=api_client.READS)
@click.argument("lender_address", metavar="LENDER")
@click.argument("shares", type=_POSITIVE)
@_TO
def redeem(lender_address: str, shares: int, to: str | None) -> None:
    """The transaction that burns SHARES for assets: poolRedeem."""
    body = {"lender": lender_address, "shares": str(shares), **({"to": to} if to else {})}
    api_client.call("POST", "/pool/prepare-redeem", body, needs_key=False)


@lender.command("queue", reads=api_client.READS)
@click.argument("lender_address", metavar="LENDER")
@click.argument("shares", type=_POSITIVE)
def queue(lender_address: str, shares: int) -> None:
    """The transaction that queues SHARES for withdrawal: requestWithdrawal (paid in order as members repay)."""
    api_client.call("POST", "/pool/prepare-queue", {"lender": lender_address, "shares": str(shares)}, needs_key=False)


@lender.command("cancel", reads=api_client.READS)
@click.argument("lender_address", metavar="LENDER")
@click.argument("request_id", metavar="ID", type=click.IntRange(min=0))
def cancel(lender_address: str, request_id: int) -> None:
    """The transaction that cancels queued request ID: cancelWithdrawal."""
    api_client.call("POST", "/pool/prepare-cancel", {"lender": lender_address, "id": request_id}, needs_key=False)
