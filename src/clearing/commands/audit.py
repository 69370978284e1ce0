"""`clearing audit verify|prove|check-proof`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from clearing.cli import audit


def _sessions():
    """The ledger's sessions; an audit never creates a ledger, so a missing SQLite file is refused."""
    from sqlalchemy.engine import make_url

    from clearing.adapters.db import make_engine, make_session_factory
    from clearing.errors import ValidationError
    from clearing.settings import get_settings

    url = make_url(get_settings().db_url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        raise ValidationError(f"no ledger at {_ledger()}: set CLEARING_DATABASE_URL to the ledger to audit")
    return make_session_factory(make_engine())


def _ledger() -> str:
    from clearing.bootstrap import shown_url
    from clearing.settings import get_settings

    return shown_url(get_settings().db_url)


def _settled_chain():
    """The chain the ledger settled on, from CLEARING_CHAIN__*; never a new, empty in-process one."""
    from clearing.bootstrap import FRESH_CHAIN_BACKENDS, open_contracts
    from clearing.errors import ValidationError
    from clearing.settings import get_settings

    settings = get_settings()
    if settings.chain.backend in FRESH_CHAIN_BACKENDS:
        raise ValidationError(
            f"no chain to audit against: CLEARING_CHAIN__BACKEND={settings.chain.backend} would start a new, empty "
            "chain in this process; set CLEARING_CHAIN__BACKEND=rpc and CLEARING_CHAIN__RPC_URL (and "
            "CLEARING_CHAIN__DEPLOYMENT unless deployments/localhost.json) to the chain the ledger settled on",
            field="chain.backend",
        )
    return open_contracts(settings)


@audit.command("verify", reads=("database", "chain"))
@click.option("--cycle", type=int, default=None, help="Only this cycle (default: every committed cycle).")
def verify_cmd(cycle: int | None) -> None:
    """Recompute cycles from the ledger and from chain events; exit 1 on the first mismatch.

    The chain is the one `clearing serve` uses (CLEARING_CHAIN__BACKEND=rpc, CLEARING_CHAIN__RPC_URL,
    CLEARING_CHAIN__DEPLOYMENT); without one it refuses, and a ledger bound to another chain is refused.
    """
    from clearing.services import audit as svc
    from clearing.services import ledger_binding

    contracts = _settled_chain()
    sessions = _sessions()
    ledger_binding.check(sessions, contracts, ledger=_ledger())
    report = svc.verify(sessions, contracts, cycle)
    click.echo(json.dumps(report.to_dict(), indent=2))
    if not report.ok:
        click.echo(f"audit failed: {report.mismatches[0]}", err=True)
        sys.exit(1)


@audit.command("prove", reads=("database", "CLEARING_CHAIN__DEPLOYMENT"))
@click.argument("obligation_id")
@click.option(
    "--submitter",
    help="The member that submitted it (name or 0x address): ids are unique per submitter, so an id several "
    "members used needs it.",
)
@click.option("--out", type=click.Path(path_type=Path), help="Write the proof here as well.")
def prove_cmd(obligation_id: str, submitter: str | None, out: Path | None) -> None:
    """Print the Merkle proof of a settled obligation against its cycle root.

    Needs only the ledger: chain id and house come from the chain it is bound to (else from
    CLEARING_CHAIN__DEPLOYMENT, default deployments/localhost.json). The proof names the submitter's
    address: the leaf's obligation key is keccak256(abi.encode(address submitter, string id)).
    """
    from clearing.adapters.chain.deploy import Deployment
    from clearing.bootstrap import deployment_path
    from clearing.services import audit as svc
    from clearing.services import ledger_binding

    sessions = _sessions()
    binding = ledger_binding.read(sessions)
    if binding is not None:
        chain_id, house = binding.chain_id, binding.house
    else:
        dep = Deployment.load(deployment_path())
        chain_id, house = dep.chain_id, dep.clearing_house
    proof = svc.prove(sessions, chain_id, house, obligation_id, submitter)
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
