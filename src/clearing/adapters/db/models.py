"""The ledger's tables as SQLAlchemy 2 typed models.

Money is :class:`~clearing.adapters.db.types.Amount` (exact ``int`` of any
uint256 size); times are UTC. Statuses are short strings (``StrEnum`` values)
rather than native enums, so adding a state is a code change, not a migration.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from clearing.adapters.db.types import Amount, UtcDateTime
from clearing.domain.vocabulary import (
    AlertState,
    ComplaintState,
    CycleState,
    DisputeState,
    HoldStatus,
    MemberStatus,
    Route,
    TxState,
)

#: Autoincrementing 64-bit key; SQLite only autoincrements INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {int: BigInteger(), dict[str, Any]: JSON(), list[str]: JSON()}


class Member(Base):
    __tablename__ = "members"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: Slug used in URLs, CSVs and domain calls (``[a-z0-9-]``).
    name: Mapped[str] = mapped_column(String(64), unique=True)
    #: EIP-55 checksummed EVM address; signs EIP-712 obligations.
    address: Mapped[str] = mapped_column(String(42), unique=True)
    tier: Mapped[str] = mapped_column(String(1), default="C")
    tier_reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default=MemberStatus.ACTIVE)
    status_reason: Mapped[str | None] = mapped_column(String(512))
    credit_line: Mapped[int] = mapped_column(Amount, default=0)
    #: Per-member override of the risk config's single-order limit (None: tier default).
    single_order_limit: Mapped[int | None] = mapped_column(Amount)
    #: Other per-member risk overrides (rule name -> value), kept as given.
    limit_overrides: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # On-chain mirror, written by chain sync; headroom reads these, never the chain.
    chain_balance: Mapped[int] = mapped_column(Amount, default=0)
    chain_credit_limit: Mapped[int] = mapped_column(Amount, default=0)
    synced_block: Mapped[int] = mapped_column(BigInteger, default=0)
    #: The asset vault's collateralValueOf (value × LTV, stale 0), mirrored by chain sync (services/pledges.py).
    chain_pledge_value: Mapped[int] = mapped_column(Amount, default=0, server_default="0")
    #: Sum of amounts owed as debtor by obligations in RESERVED_DEBIT (see adapters/db/reservations.py).
    reserved_debit: Mapped[int] = mapped_column(Amount, default=0)
    #: Sum of amounts owed to this member by obligations in RESERVED_CREDIT.
    reserved_credit: Mapped[int] = mapped_column(Amount, default=0)
    #: Withdrawals requested but not yet mined (outbox planned/sent).
    pending_withdrawal: Mapped[int] = mapped_column(Amount, default=0)
    #: Obligations recorded with this member as debtor (each gets the next ``debtor_seq``);
    #: lets a process fetch only the history rows it has not seen (see services/submission/history.py).
    obligation_seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: sha256 hex of the key; the key itself is shown once and never stored.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: First characters of the key, to tell keys apart in listings.
    prefix: Mapped[str] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(String(16))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    label: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: End of a rotation's overlap: the key stops working then (None: until revoked).
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: When the key last authenticated a request, to about a minute (written at most that often).
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ApiKeyChange(Base):
    """One row per revocation or rotation: processes poll ``max(id)`` to drop cached keys that changed."""

    __tablename__ = "api_key_changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"))
    #: revoke or rotate.
    change: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Cycle(Base):
    __tablename__ = "cycles"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default=CycleState.OPEN, index=True)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    cutoff_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: Merkle root of the cycle's settled obligations, 0x-hex.
    root: Mapped[str | None] = mapped_column(String(66))
    gross: Mapped[int] = mapped_column(Amount, default=0)
    settled_value: Mapped[int] = mapped_column(Amount, default=0)
    commit_tx_hash: Mapped[str | None] = mapped_column(String(66))
    release_tx_hash: Mapped[str | None] = mapped_column(String(66))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class CycleTransition(Base):
    __tablename__ = "cycle_transitions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class CyclePosition(Base):
    __tablename__ = "cycle_positions"

    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    #: Receipts minus payments over the cycle's settled set (sums to zero per cycle).
    net_delta: Mapped[int] = mapped_column(Amount, default=0)
    #: Value of this member's obligations (as debtor) carried to the next cycle.
    carried: Mapped[int] = mapped_column(Amount, default=0)


class Obligation(Base):
    __tablename__ = "obligations"
    __table_args__ = (
        #: Ids are the submitting member's idempotency keys: unique per submitter, not across members.
        UniqueConstraint("id", "submitted_by"),
        Index(None, "debtor_id", "status"),
        Index(None, "creditor_id", "status"),
        Index(None, "debtor_id", "created_at"),
        Index(None, "debtor_id", "debtor_seq"),
        Index(None, "debtor_id", "on_behalf_of"),  # a merchant's purchases at its platform (merchant lines)
        Index(None, "status"),
        Index(None, "cycle_id"),
    )

    #: The obligation's identity in the ledger and on chain (0x-hex ``bytes32``): its Merkle leaf's
    #: ``obligationKey`` and its tier-C order id. ``keccak256(abi.encode(address submitter, string id))``
    #: (``clearing.domain.merkle.obligation_key``); rows recorded before migration 0004 keep
    #: ``keccak256(utf8(id))``, the key their committed roots were built with.
    obligation_key: Mapped[str] = mapped_column(String(66), primary_key=True)
    #: Chosen by the submitting member: its idempotency key, unique per submitter (``submitted_by``).
    id: Mapped[str] = mapped_column(String(128))
    debtor_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    creditor_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    amount: Mapped[int] = mapped_column(Amount)
    reference: Mapped[str] = mapped_column(String(256), default="")
    on_behalf_of: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    #: Member whose key submitted it (debtor, or creditor with the debtor's signature).
    submitted_by: Mapped[int] = mapped_column(ForeignKey("members.id"))
    #: sha256 of the canonical body: same id + same hash is a retry, else a conflict.
    body_hash: Mapped[str] = mapped_column(String(64))
    #: Debtor's EIP-712 signature, 0x-hex (65 bytes), when given.
    signature: Mapped[str | None] = mapped_column(String(132))
    status: Mapped[str] = mapped_column(String(32))
    #: "net" (multilateral netting) or "escrow" (tier C per-order escrow).
    route: Mapped[str] = mapped_column(String(8), default=Route.NET)
    #: For queued_beyond_headroom: how much headroom was missing at submission.
    shortfall: Mapped[int | None] = mapped_column(Amount)
    cycle_id: Mapped[int | None] = mapped_column(ForeignKey("cycles.id"))
    #: Merkle leaf (0x-hex) once the obligation is in a committed cycle.
    leaf: Mapped[str | None] = mapped_column(String(66))
    #: 1, 2, 3, ... per debtor, assigned under the debtor's row lock (NULL before migration 0002); a held
    #: obligation takes the debtor's next number again when released, as it then joins the velocity window.
    debtor_seq: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class Counterparty(Base):
    """Pairs that have traded: the risk rules' "known counterparties" without a DISTINCT scan."""

    __tablename__ = "counterparties"

    debtor_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    creditor_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    first_seen: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Hold(Base):
    __tablename__ = "holds"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    obligation_key: Mapped[str] = mapped_column(ForeignKey("obligations.obligation_key"), index=True)
    rule: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(String(512))
    values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    release_after: Mapped[datetime | None] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(16), default=HoldStatus.OPEN, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class HoldReview(Base):
    __tablename__ = "hold_reviews"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    hold_id: Mapped[int] = mapped_column(ForeignKey("holds.id"), index=True)
    reviewer: Mapped[str] = mapped_column(String(128))
    decision: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(1024))
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Dispute(Base):
    """A party's dispute of an obligation, and the operator's resolution (see ``services/disputes.py``)."""

    __tablename__ = "disputes"
    __table_args__ = (
        Index(None, "against_id", "state"),
        Index(None, "filed_by_id", "state"),
        # At most one open dispute per obligation, whatever two requests race.
        Index(
            "uq_disputes_open_obligation",
            "obligation_key",
            unique=True,
            sqlite_where=text("state = 'open'"),
            postgresql_where=text("state = 'open'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: The disputed obligation's key (its identity: an id is unique only per submitter).
    obligation_key: Mapped[str] = mapped_column(ForeignKey("obligations.obligation_key"), index=True)
    filed_by_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    #: The obligation's other party.
    against_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    reason: Mapped[str] = mapped_column(String(1024))
    #: pre-close (the obligation is held by ``hold_id``) or post-settlement.
    phase: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default=DisputeState.OPEN, index=True)
    #: Pre-close: the hold (rule ``dispute``) that keeps the obligation out of netting.
    hold_id: Mapped[int | None] = mapped_column(ForeignKey("holds.id"))
    resolution: Mapped[str | None] = mapped_column(String(1024))
    #: The operator principal that resolved it, as the audit log names it.
    resolver: Mapped[str | None] = mapped_column(String(128))
    #: Post-settlement and upheld: the obligation that reverses it (creditor owes debtor the amount).
    #: Its key; the filer submitted it, with id ``dispute-N-reversal`` (``services/reversals.py``).
    reversal_obligation_key: Mapped[str | None] = mapped_column(ForeignKey("obligations.obligation_key"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Complaint(Base):
    """A member's complaint against a member it traded with, validated or dismissed by the operator."""

    __tablename__ = "complaints"
    __table_args__ = (Index(None, "against_id", "state"), Index(None, "filed_by_id", "state"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    filed_by_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    against_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    #: The key of the obligation it is about, if any (one between the two members).
    obligation_key: Mapped[str | None] = mapped_column(ForeignKey("obligations.obligation_key"))
    reason: Mapped[str] = mapped_column(String(1024))
    state: Mapped[str] = mapped_column(String(16), default=ComplaintState.OPEN, index=True)
    resolution: Mapped[str | None] = mapped_column(String(1024))
    resolver: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class SettlementTx(Base):
    """Outbox of every chain call: persisted before it is sent, updated as it progresses."""

    __tablename__ = "settlement_txs"
    __table_args__ = (Index(None, "state"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    cycle_id: Mapped[int | None] = mapped_column(ForeignKey("cycles.id"), index=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    #: commit, release, escrow_fund, withdraw, set_credit_limit, register_member, ...
    kind: Mapped[str] = mapped_column(String(32))
    amount: Mapped[int | None] = mapped_column(Amount)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    nonce: Mapped[int | None] = mapped_column(BigInteger)
    tx_hash: Mapped[str | None] = mapped_column(String(66), index=True)
    #: Signed raw transaction (0x-hex), stored before broadcast so a crash can resend it.
    raw_tx: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default=TxState.PLANNED)
    block: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class ChainEvent(Base):
    __tablename__ = "chain_events"
    __table_args__ = (UniqueConstraint("tx_hash", "log_index"), Index(None, "block_number"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_hash: Mapped[str | None] = mapped_column(String(66))
    log_index: Mapped[int] = mapped_column(Integer)
    tx_hash: Mapped[str] = mapped_column(String(66))
    event: Mapped[str] = mapped_column(String(64), index=True)
    #: Decoded arguments; uint256 values as decimal strings (JSON has no big ints everywhere).
    args: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class AuditLog(Base):
    """Append-only record of operator actions (UPDATE/DELETE refused by a trigger)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class LedgerBinding(Base):
    """The one chain and deployment this ledger settles on (one row, written when a chain is first attached).

    Every start compares it with the configured chain, so a ledger is never
    reconciled against, or resent to, a chain that never saw its cycles.
    """

    __tablename__ = "ledger_binding"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False, default=1)
    chain_id: Mapped[int] = mapped_column(BigInteger)
    #: Hash of block 0: tells apart two chains with the same id (two fresh Anvils, a new devnet).
    genesis_hash: Mapped[str] = mapped_column(String(66))
    house: Mapped[str] = mapped_column(String(42))
    deployment_block: Mapped[int] = mapped_column(BigInteger)
    bound_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class CreditScore(Base):
    """The credit history: one row per assessment that changed something of a member (score, tier,
    line, limit on chain, or the hysteresis state), saying what changed, when and why."""

    __tablename__ = "credit_scores"
    __table_args__ = (Index(None, "member_id", "id"), Index(None, "tier_from"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    computed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    #: What ran it: schedule, cycle, admission, override, manual, default (declared or cured).
    trigger: Mapped[str] = mapped_column(String(16))
    score: Mapped[int] = mapped_column(Integer)
    #: Where the score (with hysteresis) puts the member; ``tier`` is what applies (a pin may differ).
    score_tier: Mapped[str] = mapped_column(String(1))
    tier: Mapped[str] = mapped_column(String(1))
    #: The tier before, when this assessment changed it (a tier migration); else NULL.
    tier_from: Mapped[str | None] = mapped_column(String(1))
    credit_line: Mapped[int] = mapped_column(Amount)
    #: The limit planned on chain: max(credit_line, drawn).
    chain_limit: Mapped[int] = mapped_column(Amount)
    #: score, provisional or override.
    source: Mapped[str] = mapped_column(String(16))
    formula: Mapped[str] = mapped_column(String(512))
    #: [{"name", "value", "points", "rule"}], amounts as decimal strings.
    factors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: The score's inputs as gathered from the ledger (amounts as decimal strings).
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: Hysteresis state: pending_tier, streak, provisional, provisional_request.
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: Names of what changed against the member's previous row (score, tier, credit_line, chain_limit, state, ...).
    changed: Mapped[list[str]] = mapped_column(JSON, default=list)
    override_id: Mapped[int | None] = mapped_column(ForeignKey("credit_overrides.id"))


class CreditOverride(Base):
    """An operator's pin of a member's tier and/or line, with a reason and an expiry (audited)."""

    __tablename__ = "credit_overrides"
    __table_args__ = (Index(None, "member_id", "ended_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    tier: Mapped[str | None] = mapped_column(String(1))
    credit_line: Mapped[int | None] = mapped_column(Amount)
    #: The pinned line may exceed 30% of average monthly volume (said explicitly by the operator).
    above_cap: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(String(512))
    actor: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    #: When it stopped applying (ended by an operator, replaced, or expired); NULL while in force.
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ended_by: Mapped[str | None] = mapped_column(String(128))
    end_reason: Mapped[str | None] = mapped_column(String(512))


class CreditDraw(Base):
    """Credit a member drew (its on-chain balance went further below zero), due by ``due_at``.

    Repayments (the balance rising back) pay the oldest drawings first; one repaid after its
    deadline counts as late, one still unpaid past it as a default; a declared default closes it.
    """

    __tablename__ = "credit_draws"
    __table_args__ = (Index(None, "member_id", "status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    amount: Mapped[int] = mapped_column(Amount)
    outstanding: Mapped[int] = mapped_column(Amount)
    drawn_at: Mapped[datetime] = mapped_column(UtcDateTime)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    repaid_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: open, repaid, or defaulted (closed by a declared default: ``member_defaults``).
    status: Mapped[str] = mapped_column(String(16), default="open")


class Alert(Base):
    """A condition an alert rule found (``domain/alerts.py``): open → acknowledged → resolved.

    At most one alert per (member, kind, dedup key) is not resolved, enforced here whatever two
    evaluations race: a condition that still holds updates its alert instead of opening another.
    """

    __tablename__ = "alerts"
    __table_args__ = (
        Index(
            "uq_alerts_active",
            "scope_id",
            "kind",
            "dedup_key",
            unique=True,
            sqlite_where=text("state != 'resolved'"),
            postgresql_where=text("state != 'resolved'"),
        ),
        Index(None, "member_id", "state"),
        Index(None, "state", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: The member it concerns; NULL for house-level alerts (the operator's).
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    #: ``member_id``, or 0 for house-level alerts: unique indexes treat NULLs as distinct, so the index uses this.
    scope_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(32))
    #: ``hold:<id>`` for a hold's alert, else the kind.
    dedup_key: Mapped[str] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(16), default=AlertState.OPEN)
    #: warning or critical.
    severity: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(String(512))
    #: The numbers behind the message (amounts as decimal strings).
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(128))
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: ``system`` when its condition cleared, else the operator as the audit log names it.
    resolved_by: Mapped[str | None] = mapped_column(String(128))
    resolve_reason: Mapped[str | None] = mapped_column(String(1024))


class AlertOverride(Base):
    """A member's own threshold for one alert kind, replacing its tier's (set by the operator, audited)."""

    __tablename__ = "alert_overrides"

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(1024))
    set_by: Mapped[str] = mapped_column(String(128))
    set_at: Mapped[datetime] = mapped_column(UtcDateTime)


class WebhookEndpoint(Base):
    """Where a member (or the operator: ``member_id`` NULL) wants events POSTed, signed with its secret.

    The secret is kept in clear: the house signs every delivery with it (an HMAC key cannot be hashed
    away). After a rotation ``previous_secret`` signs too, until ``previous_secret_until``.
    """

    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index(None, "member_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: The owning member; NULL: the operator's endpoint, which receives every event.
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    url: Mapped[str] = mapped_column(String(2048))
    #: Event types (``EventType`` values) or ``["*"]``.
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: ``whsec_`` + base64 of the key bytes.
    secret: Mapped[str] = mapped_column(String(128))
    previous_secret: Mapped[str | None] = mapped_column(String(128))
    previous_secret_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(512))
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    #: Deleted endpoints keep their delivery log; they receive nothing more.
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class WebhookMessage(Base):
    """One event, written in the transaction of the change it reports: its body is sent byte for byte on
    every attempt to every endpoint, under the same ``webhook-id`` (this row's id)."""

    __tablename__ = "webhook_messages"

    #: ``msg_`` + 32 hex characters: the ``webhook-id`` header.
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(64))
    #: The JSON body ``{"type", "timestamp", "data"}`` exactly as sent.
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class WebhookDelivery(Base):
    """One message to one endpoint: pending until a 2xx (delivered) or until it is too old (failed).

    A worker claims a due row by setting ``claimed_until`` (``FOR UPDATE SKIP LOCKED`` on PostgreSQL);
    a claim whose worker died lapses and the row is tried again.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index(None, "state", "next_attempt_at"), Index(None, "endpoint_id", "id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("webhook_messages.id"), index=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id"))
    #: pending, delivered or failed.
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: Where its age toward ``max_age_seconds`` starts: the event's time; a manual redelivery restarts it.
    age_from: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(512))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class WebhookAttempt(Base):
    """One POST of a delivery: when, the answer's status code (NULL: no answer) and what went wrong."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(512))
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
