"""`clearing dev fund`: collateral for a member on a local development chain.

A member's deposit is the member's own transaction (the house never moves a
member's funds for it), so on a local chain this command plays the member:
it mints dev tokens to one of the dev mnemonic's accounts and deposits them.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from clearing.cli import cli


@cli.group("dev")
def dev() -> None:
    """Helpers for local development chains (Anvil with the dev mnemonic)."""


@dev.command("fund")
@click.option("--rpc-url", envvar="CLEARING_CHAIN__RPC_URL", required=True)
@click.option("--account", type=click.IntRange(0, 9), required=True, help="Dev mnemonic account index (0-9).")
@click.option("--amount", type=click.IntRange(min=1), required=True, help="Token units (smallest unit).")
@click.option(
    "--deployment",
    type=click.Path(path_type=Path),
    default=Path("deployments/localhost.json"),
    envvar="CLEARING_CHAIN__DEPLOYMENT",
    show_default=True,
)
@click.option("--lender", is_flag=True, help="Deposit into the credit pool instead of as member collateral.")
def fund(rpc_url: str, account: int, amount: int, deployment: Path, lender: bool) -> None:
    """Mint dev tokens to a dev account and deposit them into the house."""
    from clearing.adapters.chain import backends
    from clearing.adapters.chain.deploy import Contracts, Deployment
    from clearing.errors import ValidationError

    dep = Deployment.load(deployment)
    if not dep.dev_token:
        raise ValidationError(
            "this deployment uses a real token: fund members from their own wallets", field="deployment"
        )
    chain = backends.rpc(rpc_url, None, dev_fallback=True)
    c = Contracts.attach(chain, dep)
    who = chain.accounts[account]
    c.token.mint(who.address, amount)
    c.token.approve(c.house.address, amount, sender=who)
    if lender:
        c.house.pool_deposit(amount, sender=who)
    else:
        c.house.deposit(amount, sender=who)
    state = c.house.member(who.address)
    click.echo(
        json.dumps(
            {
                "account": who.address,
                "deposited": str(amount),
                "balance": str(state.balance),
                "pool_total": str(c.house.pool_total()),
            }
        )
    )
