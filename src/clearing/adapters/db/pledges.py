"""The ledger's mirror of the asset vault: listed collections and each member's pledged positions.

A module of its own (same ``Base`` as ``models.py``; registered by ``adapters/db/__init__.py``). Chain
sync writes these rows from the vault's events (``services/pledges.py``: ``CollectionSet``,
``ValuationUpdated``, ``Pledged``, ``Unpledged``, ``CollectionSeized``); the API reads them and
``audit verify`` compares them with the events replayed and the vault's own views, so an edited row is
named. The member's collateral value itself is mirrored on ``members.chain_pledge_value``.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from clearing.adapters.db.models import Base, BigId
from clearing.adapters.db.types import Amount

__all__ = ["PledgeCollection", "PledgePosition"]


class PledgeCollection(Base):
    """A collection the vault's risk role listed, with its newest valuation (chain time, seconds)."""

    __tablename__ = "pledge_collections"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: EIP-55 checksummed address of the ERC-721 or ERC-1155 contract.
    address: Mapped[str] = mapped_column(String(42), unique=True)
    #: ``erc721`` or ``erc1155`` (ERC-165, read when listed); None when the contract answered neither.
    standard: Mapped[str | None] = mapped_column(String(8))
    unit_value: Mapped[int] = mapped_column(Amount)
    ltv_bps: Mapped[int] = mapped_column(Integer)
    max_age_seconds: Mapped[int] = mapped_column(BigInteger)
    #: Block timestamp of the valuation (``valuedAt``): stale once the chain's time passes valued_at + max_age.
    valued_at: Mapped[int] = mapped_column(BigInteger)
    #: The block of the event that last set it.
    block: Mapped[int] = mapped_column(BigInteger, default=0)


class PledgePosition(Base):
    """One (collection, token id) a member has pledged: ``amount`` is 1 for an ERC-721."""

    __tablename__ = "pledge_positions"
    __table_args__ = (UniqueConstraint("member_id", "collection", "token_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    collection: Mapped[str] = mapped_column(String(42))
    token_id: Mapped[int] = mapped_column(Amount)
    amount: Mapped[int] = mapped_column(Amount)
    standard: Mapped[str | None] = mapped_column(String(8))
    block: Mapped[int] = mapped_column(BigInteger, default=0)
