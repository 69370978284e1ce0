"""`clearing contracts build|check` and `clearing deploy`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from clearing.cli import cli, contracts


@contracts.command("build")
@click.option("--check", is_flag=True, help="Fail if the shipped artifacts differ from a fresh compile.")
def build_cmd(check: bool) -> None:
    """Compile contracts/ with the offline solc wrapper into the package's artifacts."""
    from clearing.adapters.chain.compile import build
    from clearing.progress import Progress

    with Progress("contracts build").step("compiling contracts/ with tools/solc"):
        hashes = build(check=check)
    click.echo(json.dumps({"checked" if check else "written": hashes}, indent=2))


@cli.command("deploy")
@click.option(
    "--rpc-url",
    envvar="CLEARING_CHAIN__RPC_URL",
    show_envvar=True,
    help="Node URL (default: a throwaway in-process chain).",
)
@click.option(
    "--private-key",
    envvar="CLEARING_CHAIN__PRIVATE_KEY",
    show_envvar=True,
    help="Deployer key (default: the dev mnemonic's first account).",
)
@click.option("--token", help="Existing settlement token; omitted on local chains deploys the dev token.")
@click.option("--network", default=None, help="Name for deployments/<network>.json.")
@click.option("--operator", help="Operator address (default: the deployer).")
@click.option("--out", type=click.Path(path_type=Path), default=None)
def deploy_cmd(
    rpc_url: str | None,
    private_key: str | None,
    token: str | None,
    network: str | None,
    operator: str | None,
    out: Path | None,
) -> None:
    """Deploy ClearingHouse, OrderEscrow and AssetVault, grant roles, write deployments/<network>.json.

    The vault's liquidator (who buys seized pledges) is CLEARING_VAULT__LIQUIDATOR, default the deployer."""
    from clearing.adapters.chain import backends
    from clearing.adapters.chain.deploy import deploy
    from clearing.settings import get_settings

    chain = backends.rpc(rpc_url, private_key, dev_fallback=True) if rpc_url else backends.connect("embedded")
    name = network or ("localhost" if rpc_url else "embedded")
    settings = get_settings()
    rates = (settings.pool.base_rate_bps, settings.pool.slope_rate_bps)
    dep = deploy(chain, network=name, token=token, operator=operator, rates=rates, liquidator=settings.vault.liquidator)
    path = out or Path("deployments") / f"{name}.json"
    dep.save(path)
    click.echo(json.dumps({"deployment": str(path), **dep.__dict__}, indent=2))
