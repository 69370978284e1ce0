"""Which chain a ledger belongs to: recorded once, compared on every start.

A ledger's cycles, outbox rows and chain mirror describe one deployment on one
chain. Started against another (a fresh Anvil, the in-process chain, a
redeployed house) it would resend its planned calls there, see members without
collateral and report every settled cycle as a mismatch. So the first time a
chain is attached the ledger records it (``ledger_binding``: chain id, genesis
hash, house address, deployment block), and every later start refuses any
other chain with one line that says what to do. Nothing here deletes or
truncates a ledger.

Two fresh Anvils share chain id, house address and deployment block (the
addresses follow from the dev key's nonces); the genesis hash tells them apart.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from clearing.adapters.chain.deploy import Contracts
from clearing.adapters.db.models import ChainEvent, LedgerBinding, SettlementTx
from clearing.adapters.db.uow import UnitOfWork
from clearing.domain.vocabulary import TxState
from clearing.errors import LedgerMismatch, ValidationError

#: What a reader can do about a refused ledger (said at the end of every refusal).
REMEDY = (
    "to start afresh on the configured chain, point CLEARING_DATABASE_URL at a new ledger file; "
    "to keep this ledger, set CLEARING_CHAIN__BACKEND=rpc, CLEARING_CHAIN__RPC_URL and "
    "CLEARING_CHAIN__DEPLOYMENT to the chain it belongs to"
)


@dataclass(frozen=True, slots=True)
class ChainBinding:
    chain_id: int
    genesis_hash: str
    house: str
    deployment_block: int

    @classmethod
    def of(cls, contracts: Contracts) -> ChainBinding:
        return cls(
            chain_id=contracts.chain.chain_id,
            genesis_hash=contracts.chain.genesis_hash(),
            house=contracts.deployment.clearing_house,
            deployment_block=contracts.deployment.block,
        )

    def same_as(self, other: ChainBinding) -> bool:
        return (self.chain_id, self.genesis_hash.lower(), self.house.lower(), self.deployment_block) == (
            other.chain_id,
            other.genesis_hash.lower(),
            other.house.lower(),
            other.deployment_block,
        )

    def describe(self) -> str:
        return (
            f"chain {self.chain_id} (genesis {self.genesis_hash[:12]}) with the house at {self.house} "
            f"(deployed in block {self.deployment_block})"
        )


def read(sessions: sessionmaker[Session]) -> ChainBinding | None:
    """The chain this ledger is bound to, if any."""
    with UnitOfWork.from_factory(sessions, read_only=True) as uow:
        return _stored(uow.session)


def check(
    sessions: sessionmaker[Session], contracts: Contracts | None, *, ledger: str, fresh_chain: bool = False
) -> ChainBinding | None:
    """Refuse (:class:`LedgerMismatch`) a ledger that belongs to another chain; the binding, if any.

    ``fresh_chain``: this process has just created the chain (``embedded``,
    ``anvil``), so any binding or chain history already in the ledger is
    elsewhere; ``contracts`` may then be None (checked before the chain exists).
    A ledger from before bindings has none; it passes if the newest
    transaction it saw mined is mined on this chain in the same block.
    """
    with UnitOfWork.from_factory(sessions, read_only=True) as uow:
        s = uow.session
        if not inspect(s.connection()).has_table(LedgerBinding.__tablename__):
            raise ValidationError(
                f"ledger {ledger} is not at the current schema: run `clearing db upgrade`", field="database_url"
            )
        stored = _stored(s)
        seen = _newest_mined(s) if stored is None else None
    if stored is not None:
        if fresh_chain:
            raise LedgerMismatch(
                f"ledger {ledger} belongs to {stored.describe()}, but the configured chain backend starts "
                f"a new chain in this process; {REMEDY}",
                field="database_url",
            )
        if contracts is not None and not stored.same_as(current := ChainBinding.of(contracts)):
            raise LedgerMismatch(
                f"ledger {ledger} belongs to {stored.describe()}, not to the configured {current.describe()}; {REMEDY}",
                field="database_url",
            )
        return stored
    if seen is not None and (fresh_chain or contracts is None or contracts.chain.tx_block(seen[0]) != seen[1]):
        raise LedgerMismatch(
            f"ledger {ledger} records transaction {seen[0]} mined in block {seen[1]}, which the configured "
            f"chain has not mined; {REMEDY}",
            field="database_url",
        )
    return None


def bind(
    sessions: sessionmaker[Session], contracts: Contracts, *, ledger: str, fresh_chain: bool = False
) -> ChainBinding:
    """Check the ledger against ``contracts`` and record them if it has no binding yet."""
    current = ChainBinding.of(contracts)
    if check(sessions, contracts, ledger=ledger, fresh_chain=fresh_chain) is not None:
        return current
    with UnitOfWork.from_factory(sessions) as uow:
        if uow.session.get(LedgerBinding, 1) is None:
            uow.session.add(LedgerBinding(id=1, **asdict(current)))
            try:
                uow.commit()
            except IntegrityError:  # another process bound it first: compare with what it wrote
                uow.session.rollback()
    check(sessions, contracts, ledger=ledger)
    return current


def _stored(s: Session) -> ChainBinding | None:
    row = s.get(LedgerBinding, 1)
    if row is None:
        return None
    return ChainBinding(
        chain_id=row.chain_id, genesis_hash=row.genesis_hash, house=row.house, deployment_block=row.deployment_block
    )


def _newest_mined(s: Session) -> tuple[str, int] | None:
    """The newest transaction the ledger saw mined: an indexed event's, else a mined outbox row's."""
    event = s.execute(
        select(ChainEvent.tx_hash, ChainEvent.block_number)
        .order_by(ChainEvent.block_number.desc(), ChainEvent.log_index.desc())
        .limit(1)
    ).first()
    if event is not None:
        return str(event.tx_hash), int(event.block_number)
    tx = s.execute(
        select(SettlementTx.tx_hash, SettlementTx.block)
        .where(SettlementTx.state == TxState.MINED, SettlementTx.tx_hash.is_not(None), SettlementTx.block.is_not(None))
        .order_by(SettlementTx.block.desc())
        .limit(1)
    ).first()
    if tx is not None and tx.tx_hash is not None and tx.block is not None:
        return str(tx.tx_hash), int(tx.block)
    return None
