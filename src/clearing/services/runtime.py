"""Open the chain side of the service from settings: one place for every process."""

from __future__ import annotations

from pathlib import Path

from clearing.adapters.chain import backends
from clearing.adapters.chain.deploy import Contracts, Deployment, deploy
from clearing.errors import ChainError
from clearing.settings import Settings, get_settings


def open_contracts(settings: Settings | None = None) -> Contracts:
    """Contracts for the configured backend.

    ``embedded`` and ``anvil`` start a fresh chain and deploy on it (a sandbox
    that lives as long as this process); ``rpc`` attaches to the deployment
    file written by ``clearing deploy`` / ``scripts/deploy.py``.
    """
    cfg = (settings or get_settings()).chain
    if cfg.backend in ("embedded", "anvil"):
        chain = backends.connect(cfg.backend, port=cfg.anvil_port, chain_id=cfg.chain_id)
        return Contracts.attach(chain, deploy(chain, network=cfg.backend))
    if cfg.backend != "rpc":
        raise ChainError(f"unknown chain backend {cfg.backend!r}", field="chain.backend")
    key = cfg.private_key.get_secret_value() if cfg.private_key else None
    chain = backends.rpc(cfg.rpc_url or "", key) if cfg.rpc_url else None
    if chain is None:
        raise ChainError("the rpc backend needs CLEARING_CHAIN__RPC_URL", field="chain.rpc_url")
    if key is None:
        chain.accounts = backends.dev_accounts()  # a local dev node: its well-known operator
    path = cfg.deployment or Path("deployments") / "localhost.json"
    dep = Deployment.load(path)
    if dep.chain_id != chain.chain_id:
        raise ChainError(f"{path} is for chain {dep.chain_id}, but {cfg.rpc_url} is chain {chain.chain_id}")
    return Contracts.attach(chain, dep)
