"""`clearing merchants ...`: a platform's credit lines for its merchants on the running server, as a thin HTTP
client of its `/merchants` routes under the platform's member key. `grant` signs the line locally with the
platform's own private key (EIP-712 `MerchantLine`, domain from `GET /eip712?type=MerchantLine`); the key never
leaves this process. `sign-purchase` signs a purchase as the merchant, for the creditor platform to submit."""

from __future__ import annotations

import json
from typing import Any

import click

from clearing.cli import cli
from clearing.commands import api_client

MEMBER_KEY_ENV = "CLEARING_API__MEMBER_KEY"
PRIVATE_KEY_ENV = "CLEARING_API__SIGNING_KEY"
READS = ("CLEARING_API__HOST", "CLEARING_API__PORT", MEMBER_KEY_ENV)
_MEMBER = click.option("--member", default=None, help="Operators: the platform that granted the line.")


@cli.group("merchants")
@click.option("--url", envvar="CLEARING_API__URL", show_envvar=True, default=None, help=api_client.URL_HELP)
@click.option("--key", envvar=MEMBER_KEY_ENV, show_envvar=True, default=None, help="Your member API key.")
@click.pass_context
def merchants(ctx: click.Context, url: str | None, key: str | None) -> None:
    """Your merchants' credit lines on the running server (`clearing serve`): grant, list, show, statement,
    repay, freeze/unfreeze; sign-purchase signs a purchase as a merchant.

    Reads CLEARING_API__URL (or CLEARING_API__HOST and CLEARING_API__PORT) and CLEARING_API__MEMBER_KEY (an
    operator key reads every member's lines with --member). Amounts are integers in the token's smallest
    unit. An error prints one line and exits 2 (request refused) or 1 (server failed).
    """
    api_client.connect(ctx, url, key, key_env=MEMBER_KEY_ENV)


def _domain(primary_type: str) -> Any:
    from clearing.services.signatures import SigningDomain

    d = api_client.fetch("GET", "/eip712", params={"type": primary_type}, needs_key=False)["domain"]
    return SigningDomain(d["chainId"], d["verifyingContract"], d["name"], d["version"])


def _account(private_key: str | None) -> Any:
    from eth_account import Account

    if not private_key:
        raise click.UsageError(f"a private key is needed: --private-key or {PRIVATE_KEY_ENV}")
    try:
        return Account.from_key(private_key)
    except (ValueError, TypeError) as exc:
        raise click.UsageError(f"--private-key is not a secp256k1 private key: {exc}") from None


@merchants.command("grant", reads=(*READS, PRIVATE_KEY_ENV))
@click.argument("merchant")
@click.option("--signer", required=True, metavar="ADDRESS", help="The merchant's key, which signs its purchases.")
@click.option("--limit", "limit", type=click.IntRange(min=0), required=True, help="The line's limit.")
@click.option("--nonce", type=click.IntRange(min=0), default=None, help="Default: the line's newest + 1 (1 if new).")
@click.option(
    "--private-key",
    envvar=PRIVATE_KEY_ENV,
    show_envvar=True,
    default=None,
    help="Your member address's key (signs here).",
)
def grant(merchant: str, signer: str, limit: int, nonce: int | None, private_key: str | None) -> None:
    """Grant MERCHANT a line (or change it), signed here with your member key."""
    from eth_utils.address import is_hex_address

    from clearing.services.signatures import sign_merchant_line

    if not is_hex_address(signer):
        raise click.UsageError(f"--signer is not an address: {signer!r}")
    account = _account(private_key)
    if nonce is None:
        line = api_client.fetch("GET", f"/merchants/{merchant}", missing_ok=True)
        nonce = 1 if line is None else int(line["nonce"]) + 1
    signature = sign_merchant_line(
        _domain("MerchantLine"),
        account.key,
        issuer=account.address,
        merchant=merchant,
        signer=signer,
        limit=limit,
        nonce=nonce,
    )
    body = {"merchant": merchant, "signer": signer, "limit": str(limit), "nonce": str(nonce), "signature": signature}
    api_client.call("POST", "/merchants", body)


@merchants.command("list", reads=READS)
@_MEMBER
def list_lines(member: str | None) -> None:
    """Your merchants' lines: limit, used, available, status."""
    api_client.call("GET", "/merchants", params={"member": member})


@merchants.command("show", reads=READS)
@click.argument("merchant")
@_MEMBER
def show(merchant: str, member: str | None) -> None:
    """One merchant's line."""
    api_client.call("GET", f"/merchants/{merchant}", params={"member": member})


@merchants.command("statement", reads=READS)
@click.argument("merchant")
@_MEMBER
@click.option("--offset", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
def statement(merchant: str, member: str | None, offset: int, limit: int) -> None:
    """MERCHANT's purchases at every platform, with status, and its repayments, oldest first."""
    api_client.call(
        "GET", f"/merchants/{merchant}/statement", params={"member": member, "offset": offset, "limit": limit}
    )


@merchants.command("repay", reads=READS)
@click.argument("merchant")
@click.option("--id", "repayment_id", required=True, help="Your id for the repayment (retries with it are safe).")
@click.option("--amount", type=click.IntRange(min=1), required=True)
@click.option("--reference", default="", help="Free text, e.g. the bank transfer.")
def repay(merchant: str, repayment_id: str, amount: int, reference: str) -> None:
    """Record what MERCHANT paid back: frees its line."""
    body = {"id": repayment_id, "amount": str(amount), "reference": reference}
    api_client.call("POST", f"/merchants/{merchant}/repayments", body)


@merchants.command("freeze", reads=READS)
@click.argument("merchant")
def freeze(merchant: str) -> None:
    """Freeze MERCHANT's line: its purchases are refused until it is unfrozen."""
    api_client.call("POST", f"/merchants/{merchant}/status", {"status": "frozen"})


@merchants.command("unfreeze", reads=READS)
@click.argument("merchant")
def unfreeze(merchant: str) -> None:
    """Make MERCHANT's line active again."""
    api_client.call("POST", f"/merchants/{merchant}/status", {"status": "active"})


@merchants.command("sign-purchase", reads=("CLEARING_API__HOST", "CLEARING_API__PORT", PRIVATE_KEY_ENV))
@click.option("--id", "obligation_id", required=True, help="The creditor platform's obligation id.")
@click.option("--debtor", required=True, metavar="ADDRESS", help="The merchant's platform (its member address).")
@click.option("--creditor", required=True, metavar="ADDRESS", help="The platform the merchant buys from.")
@click.option("--amount", type=click.IntRange(min=1), required=True)
@click.option("--reference", default="")
@click.option("--merchant", required=True, help="The merchant's id at its platform (on_behalf_of).")
@click.option(
    "--private-key", envvar=PRIVATE_KEY_ENV, show_envvar=True, default=None, help="The merchant's key (signs here)."
)
def sign_purchase(
    obligation_id: str, debtor: str, creditor: str, amount: int, reference: str, merchant: str, private_key: str | None
) -> None:
    """Print the merchant's signature over a purchase (`merchant_signature` of the obligation)."""
    from eth_utils.address import is_hex_address

    from clearing.services.signatures import sign_obligation

    for name, value in (("--debtor", debtor), ("--creditor", creditor)):
        if not is_hex_address(value):
            raise click.UsageError(f"{name} is not an address: {value!r}")
    account = _account(private_key)
    signature = sign_obligation(
        _domain("Obligation"),
        account.key,
        id=obligation_id,
        debtor=debtor,
        creditor=creditor,
        amount=amount,
        reference=reference,
        on_behalf_of=merchant,
    )
    click.echo(json.dumps({"signer": account.address, "merchant_signature": signature}))
