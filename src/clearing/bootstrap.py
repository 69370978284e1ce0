"""The composition root: the one place that builds a running house from settings.

``clearing serve``, ``clearing demo``, every bench and the tests call
:func:`build_service`; nothing else wires services together. What it builds:
the ledger (engine, sessions), API key resolution, the chain (contracts from
the configured backend, or ones the caller deployed, or none for a
ledger-only house whose chain calls stay planned), the outbox with the chain
writer's lease (elected on PostgreSQL when workers share an rpc node), the
cycle service (which rescores credit and recomputes Cover 2 after every cycle it settles), and the
EIP-712 signing domain, all in one immutable
:class:`~clearing.services.context.ServiceContext`. ``clearing serve`` then
runs the writer's loop (``services/writer.py``) beside it.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from clearing.adapters.chain import backends
from clearing.adapters.chain.deploy import Contracts, Deployment, deploy
from clearing.adapters.db import lease as leases
from clearing.adapters.db import migrate as run_migrations
from clearing.adapters.db.engine import make_engine, make_session_factory, normalise_url
from clearing.domain.risk import RiskConfig
from clearing.errors import ChainError
from clearing.services import chain_sync, cover2, credit, financing, ledger_binding
from clearing.services.context import ServiceContext, utc_now
from clearing.services.cycles import CycleService
from clearing.services.keys import KeyResolver
from clearing.services.outbox import Outbox, WriterPolicy
from clearing.services.signatures import SigningDomain
from clearing.settings import DATA_DIR, DatabaseSettings, Settings, WriterSettings, get_settings

log = logging.getLogger(__name__)

#: Backends whose chain this process creates (and which dies with it).
FRESH_CHAIN_BACKENDS = ("embedded", "anvil")


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
    planned, finishes cycles left mid-way (if this process is the chain writer) and syncs the chain
    mirror (start-up recovery).

    Whenever there is a chain, the ledger must belong to it (``services.ledger_binding``): the
    first chain attached is recorded, any other is refused with :class:`LedgerMismatch`.

    ``fresh_embedded_ledger``: an ``embedded`` or ``anvil`` chain is created by this process, so
    the default ledger (which may belong to a chain that outlives processes) is left alone and
    this run gets a new ledger file instead (:func:`with_fresh_ledger`, path said on stderr).
    """
    settings = settings or get_settings()
    if fresh_embedded_ledger and contracts is None and with_chain:
        settings = with_fresh_ledger(settings)
    db_url = normalise_url(settings.db_url)
    if migrate:
        run_migrations(db_url)
    engine = engine or make_engine(db_url, settings=settings)
    sessions = make_session_factory(engine)
    fresh_chain = contracts is None and with_chain and settings.chain.backend in FRESH_CHAIN_BACKENDS
    shared_chain = contracts is None and with_chain and settings.chain.backend == "rpc"
    if contracts is None and with_chain:
        contracts = open_contracts(settings)
    if contracts is not None:
        ledger_binding.bind(sessions, contracts, ledger=shown_url(db_url), fresh_chain=fresh_chain)
    # Processes that share a node and a ledger (`serve --workers N`) elect one writer; a chain of this
    # process's own (or one the caller deployed) has no other sender, so this process writes.
    lease = writer_lease(db_url, contracts, settings.writer) if shared_chain and contracts is not None else None
    outbox = Outbox(sessions, contracts, policy=writer_policy(settings.writer), lease=lease)
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
            clock=clock,
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
    if cycles is not None:  # every cycle settled rescores credit and recomputes Cover 2
        cycles.on_settled = functools.partial(after_cycle, ctx)
        cycles.on_committed = functools.partial(financing.fund_scheduled, ctx)
    if recover and contracts is not None and cycles is not None:
        if outbox.is_writer():  # the others leave recovery to the writer
            outbox.resend_planned()
            cycles.recover()
            outbox.mark_recovered()
        chain_sync.sync(sessions, contracts)
    return ctx


#: What runs once a cycle the cycle service settles has ended, in order: credit rescoring (volumes, on-time
#: counts, drawings moved), then Cover 2 (drawn credit and in-flight debits moved; it evaluates the alerts).
AFTER_CYCLE: tuple[tuple[str, Callable[[ServiceContext, int], None]], ...] = (
    ("credit rescoring", credit.after_cycle),
    ("Cover 2", cover2.after_cycle),
)


def after_cycle(ctx: ServiceContext, cycle_id: int) -> None:
    """The cycle service's ``on_settled`` hook: each job of :data:`AFTER_CYCLE` alone, so one that fails
    (logged) never stops the next, and the cycle stays settled whatever they do."""
    for name, job in AFTER_CYCLE:
        try:
            job(ctx, cycle_id)
        except Exception:  # the scheduler rescores again; an operator recomputes Cover 2 with POST /cover2/run
            log.exception("%s after cycle %s failed", name, cycle_id)


def writer_policy(cfg: WriterSettings) -> WriterPolicy:
    """The chain writer's timings from its settings."""
    return WriterPolicy(
        receipt_timeout=cfg.receipt_timeout_seconds,
        replace_after=cfg.replace_after_seconds,
        nonce_attempts=cfg.nonce_attempts,
        wait_seconds=cfg.wait_seconds,
        poll_seconds=cfg.poll_seconds,
    )


def writer_lease(db_url: str, contracts: Contracts, cfg: WriterSettings) -> leases.Lease:
    """The chain writer's lease for the processes that send to one deployment from one ledger: an advisory
    lock on PostgreSQL, always held on SQLite (one process)."""
    name = f"clearing.chain-writer:{contracts.chain.chain_id}:{contracts.house.address.lower()}"
    return leases.for_database(db_url, name, retry_seconds=cfg.lease_retry_seconds)


def open_contracts(settings: Settings | None = None) -> Contracts:
    """Contracts for the configured backend.

    ``embedded`` and ``anvil`` start a fresh chain and deploy on it (a sandbox
    that lives as long as this process); ``rpc`` attaches to the deployment
    file written by ``clearing deploy`` / ``scripts/deploy.py``.
    """
    full = settings or get_settings()
    cfg = full.chain
    if cfg.backend in ("embedded", "anvil"):
        chain = backends.connect(cfg.backend, port=cfg.anvil_port, chain_id=cfg.chain_id)
        rates = (full.pool.base_rate_bps, full.pool.slope_rate_bps)
        return Contracts.attach(
            chain, deploy(chain, network=cfg.backend, rates=rates, liquidator=full.vault.liquidator)
        )
    if cfg.backend != "rpc":
        raise ChainError(f"unknown chain backend {cfg.backend!r}", field="chain.backend")
    key = cfg.private_key.get_secret_value() if cfg.private_key else None
    if not cfg.rpc_url:
        raise ChainError("the rpc backend needs CLEARING_CHAIN__RPC_URL", field="chain.rpc_url")
    chain = backends.rpc(cfg.rpc_url, key, dev_fallback=True)
    path = deployment_path(settings)
    dep = Deployment.load(path)
    if dep.chain_id != chain.chain_id:
        raise ChainError(f"{path} is for chain {dep.chain_id}, but {cfg.rpc_url} is chain {chain.chain_id}")
    return Contracts.attach(chain, dep)


def deployment_path(settings: Settings | None = None) -> Path:
    """The deployment file of the rpc backend: ``CLEARING_CHAIN__DEPLOYMENT``, else ``deployments/localhost.json``."""
    return (settings or get_settings()).chain.deployment or Path("deployments") / "localhost.json"


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


def with_fresh_ledger(settings: Settings) -> Settings:
    """``settings`` with a new ledger file when the chain starts afresh in this process and the
    ledger is the default one; otherwise ``settings`` unchanged. Never deletes a ledger.

    An ``embedded`` chain lives in memory and an ``anvil`` one dies with the process, so a ledger
    kept from an earlier run describes cycles the new chain never saw; each such run gets its own
    timestamped file under the data directory (said on stderr) and the old files stay.
    """
    if settings.chain.backend not in FRESH_CHAIN_BACKENDS or normalise_url(settings.db_url) != DatabaseSettings().url:
        return settings
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = DATA_DIR / f"ledger-{settings.chain.backend}-{stamp}.db"
    n = 1
    while path.exists():
        n += 1
        path = DATA_DIR / f"ledger-{settings.chain.backend}-{stamp}-{n}.db"
    print(
        f"clearing: the {settings.chain.backend} chain starts afresh in this process; this run's ledger is {path} "
        f"(earlier ledgers are kept)",
        file=sys.stderr,
    )
    return settings.model_copy(update={"database_url": f"sqlite:///{path}"})


def prepare_ledger(settings: Settings, *, migrate: bool) -> Settings:
    """What ``clearing serve`` checks before it starts workers, so a refusal is one line, not a traceback.

    Picks the ledger (:func:`with_fresh_ledger`), upgrades it if asked, and refuses it if it
    belongs to another chain than the configured one; returns the settings naming that ledger.
    """
    settings = with_fresh_ledger(settings)
    db_url = normalise_url(settings.db_url)
    if migrate:
        run_migrations(db_url)
    engine = make_engine(db_url, settings=settings)
    try:
        sessions = make_session_factory(engine)
        if settings.chain.backend in FRESH_CHAIN_BACKENDS:
            ledger_binding.check(sessions, None, ledger=shown_url(db_url), fresh_chain=True)
        else:
            ledger_binding.check(sessions, open_contracts(settings), ledger=shown_url(db_url))
    finally:
        engine.dispose()
    return settings


def shown_url(db_url: str) -> str:
    """A database URL fit for messages: no password."""
    return make_url(db_url).render_as_string(hide_password=True)
