"""The merchant credit tables: lines platforms grant their merchants, each signed grant, repayments, purchases.

A module of its own (same ``Base`` as ``models.py``; registered by ``adapters/db/__init__.py``).
A line belongs to its issuer (the platform, a member) and is named by the issuer's merchant id, the
value its purchases carry in ``obligations.on_behalf_of``. What a line has used is not stored: it is
read from the obligations and repayments under the issuer's member lock (``merchant_store.used``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from clearing.adapters.db.models import Base, BigId, utcnow
from clearing.adapters.db.types import Amount, UtcDateTime

__all__ = ["MerchantLine", "MerchantLineGrant", "MerchantPurchase", "MerchantRepayment"]


class MerchantLine(Base):
    """Credit platform ``issuer_id`` grants its merchant ``merchant``; the merchant signs purchases as ``signer``."""

    __tablename__ = "merchant_lines"
    __table_args__ = (UniqueConstraint("issuer_id", "merchant"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    #: The issuer's id for its merchant: what ``on_behalf_of`` names.
    merchant: Mapped[str] = mapped_column(String(128))
    #: Checksummed address of the merchant's key (registered by the issuer), which signs its purchases.
    signer: Mapped[str] = mapped_column(String(42))
    limit: Mapped[int] = mapped_column(Amount)
    #: active or frozen (``MerchantLineStatus``).
    status: Mapped[str] = mapped_column(String(16))
    #: Nonce of the newest grant; a change needs a greater one.
    nonce: Mapped[int] = mapped_column(Amount)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class MerchantLineGrant(Base):
    """Each signed grant or change of a line, as the issuer signed it (non-repudiation, and replays)."""

    __tablename__ = "merchant_line_grants"
    __table_args__ = (UniqueConstraint("line_id", "nonce"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("merchant_lines.id"))
    nonce: Mapped[int] = mapped_column(Amount)
    signer: Mapped[str] = mapped_column(String(42))
    limit: Mapped[int] = mapped_column(Amount)
    #: The issuer's EIP-712 signature over ``MerchantLine(issuer, merchant, signer, limit, nonce)``.
    signature: Mapped[str] = mapped_column(String(132))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class MerchantRepayment(Base):
    """What the merchant paid back to its platform, recorded by the platform; ``repayment_id`` is its key."""

    __tablename__ = "merchant_repayments"
    __table_args__ = (UniqueConstraint("line_id", "repayment_id"), Index(None, "line_id", "created_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("merchant_lines.id"))
    repayment_id: Mapped[str] = mapped_column(String(128))
    amount: Mapped[int] = mapped_column(Amount)
    reference: Mapped[str] = mapped_column(String(256), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class MerchantPurchase(Base):
    """The merchant's EIP-712 authorisation of a purchase charged to its line (its obligation's key)."""

    __tablename__ = "merchant_purchases"

    obligation_key: Mapped[str] = mapped_column(ForeignKey("obligations.obligation_key"), primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("merchant_lines.id"), index=True)
    signature: Mapped[str] = mapped_column(String(132))
