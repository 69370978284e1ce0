"""The clearing house's words for states and roles, owned by the domain.

Every layer speaks these: the ledger stores their values as short strings
(``adapters/db/models.py`` maps them, so adding a state is a code change,
not a migration), the API prints them, the rules compare against them.
They are ``StrEnum``s, so a value read back from the database or a JSON
body compares equal to its member.

>>> ObligationStatus("held") is ObligationStatus.HELD
True
>>> ObligationStatus.ACCEPTED == "accepted"
True
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "AlertState",
    "ComplaintState",
    "CycleState",
    "DisputePhase",
    "DisputeState",
    "EVENT_TYPES",
    "EventType",
    "HoldStatus",
    "MemberStatus",
    "MerchantLineStatus",
    "ObligationStatus",
    "Role",
    "Route",
    "TxState",
    "WILDCARD_EVENT",
]


class AlertState(StrEnum):
    """An alert is open until its condition clears (or the operator resolves it); a member or the
    operator may acknowledge it meanwhile. At most one alert per (member, kind, key) is not resolved."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class MemberStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


class MerchantLineStatus(StrEnum):
    """A platform's credit line for its merchant: purchases are charged to it only while it is active."""

    ACTIVE = "active"
    FROZEN = "frozen"


class Role(StrEnum):
    """Who an API key speaks for."""

    MEMBER = "member"
    OPERATOR = "operator"
    AUDITOR = "auditor"


class ObligationStatus(StrEnum):
    """Where an obligation stands; see ``services/reservations.py`` for which reserve headroom."""

    ACCEPTED = "accepted"
    HELD = "held"
    QUEUED_BEYOND_HEADROOM = "queued_beyond_headroom"
    REJECTED = "rejected"
    ESCROW = "escrow"
    NETTED = "netted"
    #: In a cycle committed into escrow for the operator to release: the debit has left the
    #: debtor's on-chain balance, the credit is pending; neither is reserved any more.
    COMMITTED = "committed"
    SETTLED = "settled"
    #: Its escrow (the cycle's, or its tier-C order's) closed with nothing released: the debtor got it back.
    REFUNDED = "refunded"
    CARRIED = "carried"
    #: Kept out of netting by an open dispute (its hold names the dispute), like ``held``, but still
    #: counted in its debtor's velocity window: it was taken on before the dispute, and a counted
    #: obligation never stops counting (``domain/velocity.py``). Reserves nothing, as a held one.
    DISPUTED = "disputed"
    #: Annulled by an upheld dispute after the house had taken it on (a held one is ``rejected`` instead).
    CANCELLED = "cancelled"


class Route(StrEnum):
    """How an obligation settles: netted in a cycle, or prepaid into its own order escrow (tier C)."""

    NET = "net"
    ESCROW = "escrow"


class HoldStatus(StrEnum):
    OPEN = "open"
    RELEASED = "released"
    REJECTED = "rejected"


class DisputePhase(StrEnum):
    """When a party disputed an obligation: before its cycle closed (it is held), or after it settled."""

    PRE_CLOSE = "pre-close"
    POST_SETTLEMENT = "post-settlement"


class DisputeState(StrEnum):
    """An open dispute is upheld or rejected by the operator, with a reason."""

    OPEN = "open"
    UPHELD = "upheld"
    REJECTED = "rejected"


class ComplaintState(StrEnum):
    """A complaint against a member is validated or dismissed by the operator, with a reason."""

    OPEN = "open"
    VALIDATED = "validated"
    DISMISSED = "dismissed"


class CycleState(StrEnum):
    """OPEN → CLOSED → NETTED → COMMITTED → SETTLED, or PARTIAL (some carried) / ABORTED (all carried).

    A cycle the operator releases itself stays COMMITTED until its escrow is
    empty, then ends SETTLED (or PARTIAL), or REFUNDED when nothing of it was
    released to creditors.
    """

    OPEN = "OPEN"
    CLOSED = "CLOSED"
    NETTED = "NETTED"
    COMMITTED = "COMMITTED"
    SETTLED = "SETTLED"
    PARTIAL = "PARTIAL"
    ABORTED = "ABORTED"
    REFUNDED = "REFUNDED"


class TxState(StrEnum):
    """A chain call in the outbox: planned (in the ledger, not yet signed) → sent → mined, or failed."""

    PLANNED = "planned"
    SENT = "sent"
    MINED = "mined"
    FAILED = "failed"


class EventType(StrEnum):
    """What the house tells webhook endpoints about (``services/webhooks/``; ``docs/webhooks.md``).

    Dotted ``<resource>.<what happened>``; an endpoint subscribes to some of them or to ``*`` (all).
    """

    OBLIGATION_ACCEPTED = "obligation.accepted"
    OBLIGATION_HELD = "obligation.held"
    OBLIGATION_RELEASED = "obligation.released"
    OBLIGATION_REJECTED = "obligation.rejected"
    CYCLE_SETTLED = "cycle.settled"
    CYCLE_PARTIAL = "cycle.partial"
    WITHDRAWAL_COMPLETED = "withdrawal.completed"
    CREDIT_TIER_CHANGED = "credit.tier_changed"
    CREDIT_LINE_CHANGED = "credit.line_changed"
    ALERT_OPENED = "alert.opened"
    ALERT_RESOLVED = "alert.resolved"
    HEADROOM_LOW = "headroom.low"
    FORECAST_SHORTFALL = "forecast.shortfall"
    TOPUP_ADVISED = "topup.advised"
    WEBHOOK_ENDPOINT_DISABLED = "webhook.endpoint_disabled"
    MEMBER_DEFAULTED = "member.defaulted"
    MEMBER_CURED = "member.cured"
    #: A purchase on behalf of a merchant was refused: it did not fit what the merchant's line has left.
    MERCHANT_LINE_EXHAUSTED = "merchant.line_exhausted"
    FINANCING_ADVANCED = "financing.advanced"
    FINANCING_REPAID = "financing.repaid"
    FINANCING_RECOURSE = "financing.recourse"


#: An endpoint's subscription to every event type, present and future.
WILDCARD_EVENT = "*"
#: Every event type's value, in declaration order.
EVENT_TYPES: tuple[str, ...] = tuple(e.value for e in EventType)
