"""What the services need at run time, built once per process (app or CLI)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from clearing.adapters.db.engine import make_engine, make_session_factory
from clearing.adapters.db.uow import UnitOfWork
from clearing.services.keys import KeyResolver
from clearing.services.outbox import Outbox
from clearing.services.ports import CycleService
from clearing.services.signatures import SigningDomain
from clearing.settings import Settings, get_settings


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class ServiceContext:
    engine: Engine
    sessions: sessionmaker[Session]
    settings: Settings
    keys: KeyResolver
    signing_domain: SigningDomain | None = None
    #: ``clearing.domain.risk.RiskConfig``; None means the domain defaults.
    risk_config: Any = None
    #: The risk rules (``evaluate``, ``settlement_route``, ``History``, ``MemberRisk``);
    #: None means ``clearing.domain.risk``.
    risk: Any = None
    #: Every chain write goes through it; None leaves planned rows for a process that has the chain.
    outbox: Outbox | None = None
    cycles: CycleService | None = None
    clock: Callable[[], datetime] = _now
    #: Group committer for single submissions (created on first use when api.group_commit).
    group: Any = None
    #: Each debtor's velocity window as last committed by this process: id -> (debtor_seq, entries).
    history_cache: dict[int, tuple[int, list[tuple[int, int]]]] = field(default_factory=dict)
    #: Counterparty pairs already read from the ledger (debtor id -> creditor ids); pairs are never removed.
    known_pairs: dict[int, set[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.risk is None:
            from clearing.domain import risk

            self.risk = risk
        if self.risk_config is None:
            self.risk_config = self.risk.RiskConfig()

    def group_committer(self) -> Any:
        if self.group is None:
            from clearing.services.group_commit import GroupCommitter

            self.group = GroupCommitter(self, max_items=self.settings.api.group_commit_max,
                                        threads=self.settings.api.group_commit_threads)
        return self.group

    def uow(self, *, read_only: bool = False) -> UnitOfWork:
        return UnitOfWork.from_factory(self.sessions, read_only=read_only)

    @classmethod
    def build(
        cls,
        settings: Settings | None = None,
        *,
        engine: Engine | None = None,
        url: str | None = None,
        **overrides: Any,
    ) -> "ServiceContext":
        settings = settings or get_settings()
        engine = engine or make_engine(url or settings.db_url, settings=settings)
        api = settings.api
        keys = KeyResolver(
            operator_key=api.operator_key.get_secret_value() if api.operator_key else None,
            auditor_key=api.auditor_key.get_secret_value() if api.auditor_key else None,
            ttl=api.auth_cache_seconds,
        )
        overrides.setdefault("signing_domain", signing_domain_from_settings(settings))
        return cls(engine=engine, sessions=make_session_factory(engine), settings=settings, keys=keys, **overrides)


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
                return value["address"]
    return None
