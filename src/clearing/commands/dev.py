"""`clearing dev fund`: collateral for a member on a local development chain.

A member's deposit is the member's own transaction (the house never moves a
member's funds for it), so on a local chain this command plays the member:
it mints dev tokens to one of the dev mnemonic's accounts and deposits them.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from clearing.cli import cli


@cli.group("dev")
def dev() -> None:
    """Helpers for local development chains (Anvil with the dev mnemonic)."""


@dev.command("fund", reads=("CLEARING_CHAIN__BACKEND", "database"))
@click.option("--account", type=click.IntRange(0, 9), required=True, help="Dev mnemonic account index (0-9).")
@click.option("--amount", type=click.IntRange(min=1), required=True, help="Token units (smallest unit).")
@click.option("--lender", is_flag=True, help="Deposit into the credit pool instead of as member collateral.")
@click.option(
    "--rpc-url",
    envvar="CLEARING_CHAIN__RPC_URL",
    show_envvar=True,
    help="A node of the chain `clearing serve` uses (default: the chain settings).",
)
@click.option(
    "--deployment",
    type=click.Path(path_type=Path),
    envvar="CLEARING_CHAIN__DEPLOYMENT",
    show_envvar=True,
    default=None,
    help="Deployment file (default: the chain settings', else deployments/localhost.json).",
)
@click.option(
    "--wait/--no-wait",
    default=True,
    show_default=True,
    help="Wait until the service's chain sync has put the deposit in the ledger.",
)
@click.option("--timeout", type=click.FloatRange(min=0), default=60.0, show_default=True, help="Seconds to wait.")
def fund(
    account: int, amount: int, lender: bool, rpc_url: str | None, deployment: Path | None, wait: bool, timeout: float
) -> None:
    """Mint dev tokens to a dev account and deposit them into the house.

    The chain is the one `clearing serve` uses, from the same settings
    (CLEARING_CHAIN__RPC_URL, CLEARING_CHAIN__DEPLOYMENT; the options override
    them). The embedded backend's chain lives inside the serve process, where
    no other command can reach it: fund members on a chain served by a node
    (`clearing chain up`, then CLEARING_CHAIN__BACKEND=rpc).

    A deposit counts for headroom once the running service's chain sync has
    seen it (every 2 s), so the command then waits, with progress on stderr,
    until the ledger the service writes (CLEARING_DATABASE_URL) shows the
    member synced at the deposit's block.
    """
    from clearing.adapters.chain import backends
    from clearing.adapters.chain.deploy import Contracts, Deployment
    from clearing.bootstrap import deployment_path
    from clearing.errors import ValidationError
    from clearing.settings import get_settings

    settings = get_settings()
    rpc_url = rpc_url or settings.chain.rpc_url
    if not rpc_url:
        raise ValidationError(
            "no chain to fund on: set CLEARING_CHAIN__BACKEND=rpc and CLEARING_CHAIN__RPC_URL to the chain "
            f"`clearing serve` uses (the {settings.chain.backend} backend's chain lives inside the serve process)",
            field="chain.rpc_url",
        )
    path = deployment or deployment_path(settings)
    dep = Deployment.load(path)
    if not dep.dev_token:
        raise ValidationError(
            "this deployment uses a real token: fund members from their own wallets", field="deployment"
        )
    chain = backends.rpc(rpc_url, None, dev_fallback=True)
    if dep.chain_id != chain.chain_id:
        raise ValidationError(f"{path} is for chain {dep.chain_id}, but {rpc_url} is chain {chain.chain_id}")
    c = Contracts.attach(chain, dep)
    who = chain.accounts[account]
    c.token.mint(who.address, amount)
    c.token.approve(c.house.address, amount, sender=who)
    if lender:
        c.house.pool_deposit(amount, sender=who)
    else:
        mined = c.house.deposit(amount, sender=who)
        if wait:
            _wait_for_sync(who.address, mined.block, timeout)
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


def _wait_for_sync(address: str, block: int, timeout: float) -> None:
    """Until the ledger's mirror of ``address`` is synced at ``block`` or later; progress on stderr."""
    from sqlalchemy.engine import make_url

    from clearing.adapters.db import make_engine, make_session_factory
    from clearing.bootstrap import shown_url
    from clearing.errors import ServiceUnavailable
    from clearing.services.chain_sync import member_synced_block
    from clearing.settings import get_settings

    url = get_settings().db_url
    ledger = shown_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file():
        click.echo(f"dev fund: no ledger at {ledger}; deposited in block {block}, not waiting for a sync", err=True)
        return
    engine = make_engine(url)
    try:
        sessions = make_session_factory(engine)
        deadline = time.monotonic() + timeout
        next_note = 0.0
        while True:
            synced = member_synced_block(sessions, address)
            if synced is None:
                click.echo(
                    f"dev fund: {address} is not a member in {ledger}; the deposit (block {block}) counts once "
                    "it is admitted",
                    err=True,
                )
                return
            if synced >= block:
                click.echo(f"dev fund: the service's chain sync has the deposit (block {block})", err=True)
                return
            now = time.monotonic()
            if now >= deadline:
                raise ServiceUnavailable(
                    f"deposited in block {block}, but after {timeout:g} s the ledger at {ledger} has {address} "
                    f"synced only to block {synced}: is `clearing serve` running on this ledger and chain?",
                    field="timeout",
                )
            if now >= next_note:
                click.echo(
                    f"dev fund: waiting for the service's chain sync to reach block {block} "
                    f"(ledger has {address} at block {synced}; {deadline - now:.0f} s left)",
                    err=True,
                )
                next_note = now + 2
            time.sleep(0.25)
    finally:
        engine.dispose()
