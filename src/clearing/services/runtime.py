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
    if not cfg.rpc_url:
        raise ChainError("the rpc backend needs CLEARING_CHAIN__RPC_URL", field="chain.rpc_url")
    chain = backends.rpc(cfg.rpc_url, key, dev_fallback=True)
    path = cfg.deployment or Path("deployments") / "localhost.json"
    dep = Deployment.load(path)
    if dep.chain_id != chain.chain_id:
        raise ChainError(f"{path} is for chain {dep.chain_id}, but {cfg.rpc_url} is chain {chain.chain_id}")
    return Contracts.attach(chain, dep)


def build_context(settings: Settings | None = None, *, url: str | None = None, fresh_embedded_ledger: bool = True):
    """The full service: ledger (migrated), chain, the outbox and the cycle service.

    The embedded chain lives in memory, so a ledger file left by an earlier
    run would describe cycles this chain never saw; with the default SQLite
    file it is started afresh (said on stderr).
    """
    import logging
    import sys

    from clearing.adapters.db import migrate
    from clearing.adapters.db.engine import normalise_url
    from clearing.services import chain_sync
    from clearing.services.context import ServiceContext
    from clearing.services.cycles import CycleService
    from clearing.services.outbox import Outbox
    from clearing.services.signatures import SigningDomain
    from clearing.settings import DatabaseSettings

    settings = settings or get_settings()
    db_url = normalise_url(url or settings.db_url)
    if settings.chain.backend == "embedded" and fresh_embedded_ledger and db_url == DatabaseSettings().url:
        db_file = Path(db_url.removeprefix("sqlite:///"))
        for p in (db_file, db_file.with_name(db_file.name + "-wal"), db_file.with_name(db_file.name + "-shm")):
            p.unlink(missing_ok=True)
        print(f"clearing: embedded chain is in memory; starting a fresh ledger at {db_file}", file=sys.stderr)
    migrate(db_url)
    contracts = open_contracts(settings)
    ctx = ServiceContext.build(settings, url=db_url, signing_domain=SigningDomain(
        chain_id=contracts.chain.chain_id, verifying_contract=contracts.house.address))
    outbox = Outbox(ctx.sessions, contracts)
    ctx.outbox = outbox
    ctx.cycles = CycleService(ctx.sessions, contracts, solver_budget_s=settings.cycle.solver_budget_s,
                              fifo=settings.cycle.fifo, outbox=outbox,
                              progress=lambda m: logging.getLogger("clearing.cycles").info(m))
    # Start-up recovery: send member calls left planned, finish cycles left mid-way.
    outbox.resend_planned()
    ctx.cycles.recover()
    chain_sync.sync(ctx.sessions, contracts)
    return ctx


def admit_funded_member(ctx, contracts: Contracts, operator, account, *, name: str, tier: str,  # type: ignore[no-untyped-def]
                        collateral: int, credit_line: int = 0, tier_reasons: list[str] | None = None):
    """Dev and test helper: admit a member through the service (on chain too) and post
    its collateral from its own key; returns the member's principal."""
    from clearing.services import members
    from clearing.services.keys import Principal

    admitted = members.admit(ctx, operator, name=name, address=account.address, tier=tier,
                             credit_line=credit_line, tier_reasons=tier_reasons)
    if collateral:
        contracts.fund_member(account, collateral)
    return Principal(role="member", key_id=None, member_id=admitted.member.id, member_name=name,
                     member_address=account.address)
