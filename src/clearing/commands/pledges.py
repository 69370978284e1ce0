"""`clearing pledges ...`: pledged digital assets through the running server's routes: the collections the
vault accepts and their valuations (operator key), a member's pledges, and the pledge and unpledge calls of
a member's own wallet.

`pledge` and `unpledge` ask the server for the calls (`prepare-pledge`, `prepare-unpledge`, with the member's
API key) and print them, as `clearing lender` does; with `--private-key` and `--rpc-url` the command also signs
them locally with that wallet key and sends them in order (the key never leaves this process; the server
never sees it)."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from clearing.cli import cli
from clearing.commands import api_client

_MEMBER_KEY = click.option(
    "--member-key",
    default=None,
    help="The member's API key (its own pledges; overrides --key).",
)
_WALLET = (
    click.option(
        "--private-key",
        default=None,
        help="The member's wallet key: sign and send the calls (default: print them unsigned).",
    ),
    click.option(
        "--rpc-url", envvar="CLEARING_CHAIN__RPC_URL", show_envvar=True, default=None, help="The node to send to."
    ),
    click.option("--amount", type=click.IntRange(min=1), default=None, help="ERC-1155: how many (ERC-721: 1)."),
)


def _wallet(f: Any) -> Any:
    for option in reversed(_WALLET):
        f = option(f)
    return _MEMBER_KEY(f)


@cli.group("pledges")
@api_client.server_options
@click.pass_context
def pledges(ctx: click.Context, url: str | None, key: str | None) -> None:
    """Pledged ERC-721/ERC-1155 assets on the running server (`clearing serve`): collections and their
    valuations, a member's pledges, and the calls that pledge and unpledge from the member's wallet.

    Reads CLEARING_API__URL (or CLEARING_API__HOST and CLEARING_API__PORT). Values are integers in the
    settlement token's smallest unit. An error prints one line and exits 2 (request refused: the problem
    names the field and the values) or 1 (server or chain failed).
    """
    api_client.connect(ctx, url, key)


def _as_member(member_key: str | None) -> None:
    obj = click.get_current_context().obj
    if member_key:
        obj["key"] = member_key
    if not obj["key"]:
        raise click.UsageError("a member key is needed: --member-key")


@pledges.command("collections", reads=api_client.READS)
def collections() -> None:
    """Listed collections: value per token, LTV, when valued, staleness bound, whether stale now."""
    api_client.call("GET", "/pledges/collections")


@pledges.command("value", reads=api_client.READS)
@click.argument("collection")
@click.argument("unit_value", type=click.IntRange(min=0))
@click.option("--ltv-bps", type=click.IntRange(0, 10_000), default=None, help="List (or re-set) with this LTV.")
@click.option("--max-age-seconds", type=click.IntRange(min=1), default=None, help="Staleness bound when listing.")
def value(collection: str, unit_value: int, ltv_bps: int | None, max_age_seconds: int | None) -> None:
    """Value COLLECTION at UNIT_VALUE per token now (operator). With --ltv-bps and --max-age-seconds, list it
    (or re-set it); without, revalue a listed collection (restarting its staleness clock)."""
    if (ltv_bps is None) != (max_age_seconds is None):
        raise click.UsageError("--ltv-bps and --max-age-seconds go together (listing); omit both to revalue")
    if ltv_bps is None:
        api_client.call("PUT", f"/pledges/collections/{collection}", {"unit_value": str(unit_value)})
        return
    body = {
        "collection": collection,
        "unit_value": str(unit_value),
        "ltv_bps": ltv_bps,
        "max_age_seconds": max_age_seconds,
    }
    api_client.call("POST", "/pledges/collections", body)


@pledges.command("list", reads=api_client.READS)
@click.argument("name", required=False)
@_MEMBER_KEY
def list_(name: str | None, member_key: str | None) -> None:
    """NAME's pledges (operator key), or with no NAME your own (member key): per collection with its value and
    collateral value, and the headroom that counts them."""
    if name is not None:
        api_client.call("GET", f"/members/{name}/pledges")
        return
    _as_member(member_key)
    api_client.call("GET", "/members/me/pledges")


def _prepare(kind: str, collection: str, token_id: int, amount: int | None, key: str | None, rpc: str | None) -> None:
    body = {"collection": collection, "token_id": str(token_id), **({"amount": str(amount)} if amount else {})}
    prepared = api_client.fetch("POST", f"/members/me/pledges/prepare-{kind}", body)
    if key is None:
        click.echo(json.dumps(prepared, indent=2))
        return
    if rpc is None:
        raise click.UsageError("--private-key needs --rpc-url (or CLEARING_CHAIN__RPC_URL) to send the calls")
    click.echo(json.dumps({"sent": send_all(prepared["transactions"], key, rpc)}, indent=2))


def send_all(transactions: list[dict[str, Any]], private_key: str, rpc_url: str) -> list[dict[str, Any]]:
    """Sign each unsigned transaction with the wallet key and send it, in order, waiting for each receipt."""
    from eth_account import Account

    from clearing.adapters.chain import backends

    chain = backends.rpc(rpc_url, None)
    w3, account = chain.w3, Account.from_key(private_key)
    sent = []
    for tx in transactions:
        if tx["from"].lower() != account.address.lower() or int(tx["chain_id"]) != chain.chain_id:
            click.echo(f"error: the calls are for {tx['from']} on chain {tx['chain_id']}, not this wallet", err=True)
            sys.exit(2)
        fields: dict[str, Any] = {
            "to": tx["to"],
            "data": tx["data"],
            "value": int(tx["value"]),
            "chainId": chain.chain_id,
        }
        fields |= {"from": account.address, "nonce": w3.eth.get_transaction_count(account.address, "pending")}
        fields |= chain.market_fees(legacy=False)
        fields["gas"] = w3.eth.estimate_gas(fields)  # type: ignore[arg-type]
        tx_hash = w3.eth.send_raw_transaction(account.sign_transaction(fields).raw_transaction)
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120)
        if receipt["status"] != 1:
            click.echo(f"error: transaction {tx_hash.hex()} to {tx['to']} reverted", err=True)
            sys.exit(1)
        sent.append({"to": tx["to"], "tx_hash": "0x" + bytes(tx_hash).hex(), "block": receipt["blockNumber"]})
    return sent


@pledges.command("pledge", reads=api_client.READS)
@click.argument("collection")
@click.argument("token_id", type=click.IntRange(min=0))
@_wallet
def pledge(
    collection: str,
    token_id: int,
    member_key: str | None,
    private_key: str | None,
    rpc_url: str | None,
    amount: int | None,
) -> None:
    """The calls that pledge TOKEN_ID of COLLECTION from your wallet: the vault's approval if missing, then
    pledge721/pledge1155 (printed; with --private-key, signed and sent)."""
    _as_member(member_key)
    _prepare("pledge", collection, token_id, amount, private_key, rpc_url)


@pledges.command("unpledge", reads=api_client.READS)
@click.argument("collection")
@click.argument("token_id", type=click.IntRange(min=0))
@_wallet
def unpledge(
    collection: str,
    token_id: int,
    member_key: str | None,
    private_key: str | None,
    rpc_url: str | None,
    amount: int | None,
) -> None:
    """The call that takes TOKEN_ID of COLLECTION back to your wallet (refused while you owe the house or your
    headroom rests on it; printed, or with --private-key signed and sent)."""
    _as_member(member_key)
    _prepare("unpledge", collection, token_id, amount, private_key, rpc_url)
