"""What every service takes: the parts of one running house, built once by ``clearing.bootstrap``.

The context is immutable: services read it, never rewire it, so a request
can never see a half-built house. What changes while the process runs
(committed velocity windows, known counterparty pairs) lives in
:class:`ProcessCaches`, whose contents only ever grow with committed facts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from clearing.adapters.chain.deploy import Contracts
from clearing.adapters.db.uow import UnitOfWork
from clearing.domain.risk import RiskConfig
from clearing.domain.velocity import VelocityWindow
from clearing.services.cycles import CycleService
from clearing.services.keys import KeyResolver
from clearing.services.outbox import Outbox
from clearing.services.signatures import SigningDomain
from clearing.settings import Settings


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class ProcessCaches:
    """Facts this process has seen committed, so submissions need not read them again.

    ``windows``: each debtor's velocity window as of a ``debtor_seq`` (see
    ``services/submission/history.py``); ``known_pairs``: debtor id → creditor
    ids that have traded (pairs are never removed, so a cached pair stays true).
    Filled only after commits; entries are replaced, never mutated.
    """

    windows: dict[int, VelocityWindow] = field(default_factory=dict)
    known_pairs: dict[int, set[int]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ServiceContext:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    keys: KeyResolver
    #: Every chain write goes through it; without contracts, planned rows wait for a process that has the chain.
    outbox: Outbox
    #: EIP-712 domain that creditor-submitted obligations are signed under (None: none accepted).
    signing_domain: SigningDomain | None = None
    risk_config: RiskConfig = field(default_factory=RiskConfig)
    #: The deployed contracts; None for a ledger-only house (chain calls stay planned).
    contracts: Contracts | None = None
    cycles: CycleService | None = None
    clock: Callable[[], datetime] = utc_now
    caches: ProcessCaches = field(default_factory=ProcessCaches)

    def uow(self, *, read_only: bool = False) -> UnitOfWork:
        return UnitOfWork.from_factory(self.sessions, read_only=read_only)
