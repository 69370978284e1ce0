"""The submission's plain data: what a member sends, what it gets back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from clearing.services.holds import HoldView


@dataclass(frozen=True, slots=True)
class ObligationInput:
    """One obligation as submitted; ``debtor``/``creditor`` are member names or 0x addresses."""

    id: str
    debtor: str
    creditor: str
    amount: int
    reference: str = ""
    on_behalf_of: str | None = None
    signature: str | None = None
    #: The merchant's EIP-712 signature over the same Obligation, when ``on_behalf_of`` names its line at the debtor.
    merchant_signature: str | None = None


@dataclass(frozen=True, slots=True)
class ObligationView:
    #: The submitting member's id for it (unique per submitter, not across members).
    id: str
    #: 0x-hex ``bytes32``: its key in the ledger and on chain (Merkle leaf, tier-C order id).
    obligation_key: str
    #: Name of the member that submitted it (its debtor, or its creditor with the debtor's signature).
    submitter: str
    debtor: str
    creditor: str
    debtor_address: str
    creditor_address: str
    amount: int
    reference: str
    on_behalf_of: str | None
    created_at: datetime
    status: str
    route: str
    shortfall: int | None
    cycle_id: int | None
    signed: bool
    holds: tuple[HoldView, ...] = ()


@dataclass(frozen=True, slots=True)
class SubmitResult:
    index: int
    replayed: bool
    obligation: ObligationView
