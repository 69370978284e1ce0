"""`clearing audit verify|prove|check-proof`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from clearing.cli import audit


def _sessions():
    from clearing.adapters.db import make_engine, make_session_factory

    return make_session_factory(make_engine())


@audit.command("verify", reads=("database", "chain"))
@click.option("--cycle", type=int, default=None, help="Only this cycle (default: every committed cycle).")
def verify_cmd(cycle: int | None) -> None:
    """Recompute cycles from the ledger and from chain events; exit 1 on the first mismatch."""
    from clearing.bootstrap import open_contracts
    from clearing.services import audit as svc

    report = svc.verify(_sessions(), open_contracts(), cycle)
    click.echo(json.dumps(report.to_dict(), indent=2))
    if not report.ok:
        click.echo(f"audit failed: {report.mismatches[0]}", err=True)
        sys.exit(1)


@audit.command("prove", reads=("database", "CLEARING_CHAIN__DEPLOYMENT"))
@click.argument("obligation_id")
@click.option("--out", type=click.Path(path_type=Path), help="Write the proof here as well.")
def prove_cmd(obligation_id: str, out: Path | None) -> None:
    """Print the Merkle proof of a settled obligation against its cycle root."""
    from clearing.adapters.chain.deploy import Deployment
    from clearing.services import audit as svc
    from clearing.settings import get_settings

    cfg = get_settings().chain
    dep = Deployment.load(cfg.deployment or Path("deployments") / "localhost.json")
    proof = svc.prove(_sessions(), dep.chain_id, dep.clearing_house, obligation_id)
    text = json.dumps(proof.to_dict(), indent=2)
    if out:
        out.write_text(text + "\n")
    click.echo(text)


@audit.command("check-proof")
@click.argument("proof_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--rpc-url", required=True, envvar="CLEARING_CHAIN__RPC_URL", show_envvar=True, help="Any node of the chain."
)
def check_proof_cmd(proof_file: Path, rpc_url: str) -> None:
    """Verify a proof with nothing but the chain: no ledger, no service."""
    from clearing.adapters.chain import backends
    from clearing.adapters.chain.client import ClearingHouseClient
    from clearing.errors import ValidationError
    from clearing.services.audit import check_proof

    try:
        proof = json.loads(proof_file.read_text())
    except json.JSONDecodeError as exc:
        raise ValidationError(f"{proof_file}: not JSON ({exc})", field="proof_file") from None
    chain = backends.rpc(rpc_url, None)
    if int(proof.get("chain_id", chain.chain_id)) != chain.chain_id:
        raise ValidationError(
            f"proof is for chain {proof['chain_id']}, node is chain {chain.chain_id}", field="chain_id"
        )
    failures = check_proof(ClearingHouseClient(chain, proof["clearing_house"]), proof)
    if failures:
        click.echo(f"proof INVALID: {failures[0]}", err=True)
        sys.exit(1)
    click.echo(
        f"proof valid: obligation {proof['obligation_id']} is in cycle {proof['cycle_id']} "
        f"committed on chain {chain.chain_id} at {proof['clearing_house']}"
    )
