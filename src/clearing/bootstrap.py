"""The composition root: the one place that builds a running house from settings.

``clearing serve``, ``clearing demo``, every bench and the tests call
:func:`build_service`; nothing else wires services together. What it builds:
the ledger (engine, sessions), API key resolution, the chain (contracts from
the configured backend, or ones the caller deployed, or none for a
ledger-only house whose chain calls stay planned), the chain writer, the
cycle service, and the EIP-712 signing domain, all in one immutable
:class:`~clearing.services.context.ServiceContext`.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from clearing.adapters.chain import backends
from clearing.adapters.chain.deploy import Contracts, Deployment, deploy
from clearing.adapters.db import migrate as run_migrations
from clearing.adapters.db.engine import make_engine, make_session_factory, normalise_url
from clearing.domain.risk import RiskConfig
from clearing.errors import ChainError
from clearing.services import chain_sync
from clearing.services.context import ServiceContext, utc_now
from clearing.services.cycles import CycleService
from clearing.services.keys import KeyResolver
from clearing.services.outbox import Outbox
from clearing.services.signatures import SigningDomain
from clearing.settings import DatabaseSettings, Settings, get_settings

log = logging.getLogger(__name__)


def build_service(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    contracts: Contracts | None = None,
    with_chain: bool = True,
    migrate: bool = False,
    recover: bool = True,
    fresh_embedded_ledger: bool = False,
    risk_config: RiskConfig | None = None,
    clock: Callable[[], datetime] = utc_now,
    progress: Callable[[str], None] | None = None,
) -> ServiceContext:
    """The whole service.

    ``contracts``: a deployment the caller made (tests, demo, benches); else, with
    ``with_chain``, the configured backend's (``embedded``/``anvil`` start a fresh chain and
    deploy on it; ``rpc`` attaches to the deployment file); ``with_chain=False`` builds a
    ledger-only house. ``migrate`` upgrades the ledger first; ``recover`` sends chain calls left
    planned, finishes cycles left mid-way and syncs the chain mirror (start-up recovery).

    ``fresh_embedded_ledger``: the embedded chain lives in memory, so a ledger file left by an
    earlier run would describe cycles this chain never saw; with the default SQLite file it is
    started afresh (said on stderr).
    """
    settings = settings or get_settings()
    db_url = normalise_url(settings.db_url)
    if (
        fresh_embedded_ledger
        and contracts is None
        and with_chain
        and settings.chain.backend == "embedded"
        and db_url == DatabaseSettings().url
    ):
        _remove_sqlite(db_url)
    if migrate:
        run_migrations(db_url)
    engine = engine or make_engine(db_url, settings=settings)
    sessions = make_session_factory(engine)
    if contracts is None and with_chain:
        contracts = open_contracts(settings)
    outbox = Outbox(sessions, contracts)
    if contracts is not None:
        domain: SigningDomain | None = SigningDomain(
            chain_id=contracts.chain.chain_id, verifying_contract=contracts.house.address
        )
        cycles: CycleService | None = CycleService(
            sessions,
            contracts,
            solver_budget_s=settings.cycle.solver_budget_s,
            fifo=settings.cycle.fifo,
            outbox=outbox,
            progress=progress or (lambda m: logging.getLogger("clearing.cycles").info(m)),
        )
    else:
        domain, cycles = signing_domain_from_settings(settings), None
    api = settings.api
    ctx = ServiceContext(
        settings=settings,
        engine=engine,
        sessions=sessions,
        keys=KeyResolver(
            operator_key=api.operator_key.get_secret_value() if api.operator_key else None,
            auditor_key=api.auditor_key.get_secret_value() if api.auditor_key else None,
            ttl=api.auth_cache_seconds,
            change_check_seconds=api.auth_change_check_seconds,
            touch_seconds=api.key_touch_seconds,
            negative_ttl=api.auth_negative_cache_seconds,
            failure_limit=api.auth_failure_limit,
            clock=clock,
        ),
        outbox=outbox,
        signing_domain=domain,
        risk_config=risk_config or RiskConfig(),
        contracts=contracts,
        cycles=cycles,
        clock=clock,
    )
    if recover and contracts is not None and cycles is not None:
        outbox.resend_planned()
        cycles.recover()
        chain_sync.sync(sessions, contracts)
    return ctx


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


def signing_domain_from_settings(settings: Settings) -> SigningDomain | None:
    """EIP-712 domain: chain id from settings; verifying contract from settings or the deployment file.

    The deployment JSON is searched for the house address under the keys
    ``ClearingHouse``/``clearing_house``/``house`` (top level or in
    ``contracts``/``addresses``, as a string or an object with ``address``).
    """
    chain = settings.chain
    contract, chain_id = chain.verifying_contract, chain.chain_id
    if contract is None and chain.deployment is not None and Path(chain.deployment).exists():
        doc = json.loads(Path(chain.deployment).read_text())
        contract = _house_address(doc)
        if isinstance(doc, dict) and isinstance(doc.get("chain_id"), int):
            chain_id = doc["chain_id"]
    if contract is None:
        return None
    return SigningDomain(chain_id=chain_id, verifying_contract=contract)


def _house_address(doc: Any) -> str | None:
    if not isinstance(doc, dict):
        return None
    for scope in (doc, doc.get("contracts"), doc.get("addresses")):
        if not isinstance(scope, dict):
            continue
        for key in ("ClearingHouse", "clearing_house", "clearingHouse", "house"):
            value = scope.get(key)
            if isinstance(value, str):
                return value
            if isinstance(value, dict) and isinstance(value.get("address"), str):
                return str(value["address"])
    return None


def _remove_sqlite(db_url: str) -> None:
    db_file = Path(db_url.removeprefix("sqlite:///"))
    for p in (db_file, db_file.with_name(db_file.name + "-wal"), db_file.with_name(db_file.name + "-shm")):
        p.unlink(missing_ok=True)
    print(f"clearing: embedded chain is in memory; starting a fresh ledger at {db_file}", file=sys.stderr)
