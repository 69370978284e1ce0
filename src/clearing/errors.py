"""One root exception for every layer; callers catch ``ClearingError``.

Subclasses carry the failing values so the API can name the field and the CLI
can print one readable line. The domain raises these too (they are pure), so
they say what went wrong, not how a transport reports it: HTTP statuses live
in ``clearing.api.problems``, exit codes in ``clearing.cli``.
"""

from __future__ import annotations


class ClearingError(Exception):
    """Root of every error this package raises on purpose."""

    #: Short machine-readable code used in problem bodies.
    code: str = "clearing-error"

    def __init__(self, message: str, *, field: str | None = None, **values: object) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.values = values


class ValidationError(ClearingError):
    """Input is malformed: a field is missing, negative, unknown or mistyped."""

    code = "validation-error"


class UnknownMember(ValidationError):
    """An obligation names a debtor or creditor that is no member (neither a name nor an address)."""

    code = "unknown-member"


class SameMember(ValidationError):
    """An obligation's debtor and creditor are one member."""

    code = "same-member"


class NotFound(ClearingError):
    code = "not-found"


class NoForecast(NotFound):
    """No forecast has been stored yet for what was asked (a member, or the pool): none has run since."""

    code = "no-forecast"


class Conflict(ClearingError):
    code = "conflict"


class Forbidden(ClearingError):
    code = "forbidden"


class ChainError(ClearingError):
    """The chain refused or could not be reached."""

    code = "chain-error"


class ChainReverted(ChainError):
    """A transaction or call reverted; ``error`` names the decoded custom error."""

    code = "chain-reverted"

    def __init__(self, message: str, *, error: str | None = None, args: tuple = (), **values: object) -> None:
        super().__init__(message, **values)
        self.error = error
        self.error_args = args


class Unauthorized(ClearingError):
    """No API key, or one that is unknown or revoked."""

    code = "unauthorized"


class ServiceUnavailable(ClearingError):
    code = "service-unavailable"


class LedgerMismatch(ClearingError):
    """The ledger belongs to another chain or deployment than the one configured (or to none that
    can be checked): starting would reconcile it against, or resend its calls to, the wrong chain."""

    code = "ledger-mismatch"


class TooManyRequests(ClearingError):
    """Too many failed attempts from one client or at one key prefix; ``values['retry_after']`` in seconds."""

    code = "too-many-requests"


class InsufficientHeadroom(Conflict):
    """A request needs more free collateral or credit than the member has.

    ``values`` carry ``available`` and ``needed`` (ints).
    """

    code = "insufficient-headroom"


class ObligationConflict(Conflict):
    """The submitting member already used this obligation id with a different body (idempotency key reuse)."""

    code = "obligation-conflict"


class AmbiguousObligation(ValidationError):
    """An obligation id used by several submitting members, looked up without naming which one (``submitter``)."""

    code = "ambiguous-obligation"


class ReleaseRefused(ValidationError):
    """A release, hold or refund the cycle's escrow cannot take as asked (the request itself is well-formed)."""

    code = "release-refused"


class InvalidSignature(ValidationError):
    """The EIP-712 signature is malformed or not the debtor's."""

    code = "invalid-signature"


class NotAParty(Forbidden):
    """The submitting member is neither the debtor nor the creditor."""

    code = "not-a-party"


class DisputeOpen(Conflict):
    """The obligation already has an open dispute; ``values['dispute']`` is its id."""

    code = "dispute-open"


class NotDisputable(Conflict):
    """The obligation is where no dispute can reach it (in a closed cycle not yet settled, annulled, refunded)."""

    code = "not-disputable"


class NotACounterparty(Forbidden):
    """A complaint names a member the complainant never had an obligation with (or an obligation not between them)."""

    code = "not-a-counterparty"


class BatchRejected(ValidationError):
    """Some items of a batch are invalid; nothing was written.

    ``items`` lists ``{"index", "id", "code", "field", "detail"}`` per bad item.
    """

    code = "batch-rejected"

    def __init__(
        self, message: str, *, items: list[dict[str, object]], all_conflicts: bool = False, **values: object
    ) -> None:
        super().__init__(message, **values)
        self.items = items
        #: Every bad item reuses an id with another body (the API answers 409, not 422).
        self.all_conflicts = all_conflicts


class EndpointRefused(ValidationError):
    """A webhook URL the house will not POST to: not http(s), no host, credentials in it, a host that does
    not resolve, or (unless allowed) an address in a private, loopback, link-local, multicast or reserved
    range. Its own code: a well-formed string can break these rules."""

    code = "endpoint-refused"


class UnknownEventType(ValidationError):
    """An event type that is neither an ``EventType`` value nor ``*``."""

    code = "unknown-event-type"


class CreditLineAboveCap(ValidationError):
    """A credit line asked above what the member may have: 30% of its average monthly volume (or its
    provisional bound). ``values`` carry ``requested``, ``cap`` and ``average_monthly_volume``."""

    code = "credit-line-above-cap"


class OverrideRefused(ValidationError):
    """A well-formed override the policy refuses: nothing pinned, an expiry in the past or too far ahead,
    a blank reason (its own code, so it is not mistaken for a malformed request)."""

    code = "override-refused"


class MerchantLineFrozen(Conflict):
    """A purchase names a merchant line its platform has frozen; ``values`` name the issuer and merchant."""

    code = "merchant-line-frozen"


class MerchantLineExhausted(Conflict):
    """A purchase does not fit the merchant's line: ``values`` carry ``limit``, ``used``, ``available``, ``amount``."""

    code = "merchant-line-exhausted"


class MerchantLineNonce(Conflict):
    """A signed line change whose nonce is not above the line's newest one (a replay of an older grant), or
    that reuses a nonce with another body; ``values`` carry ``nonce`` and ``current``."""

    code = "merchant-line-nonce"


class IssuerRequired(ValidationError):
    """A line read by an operator without naming the platform that granted it (merchant ids are per platform)."""

    code = "issuer-required"


class RepaymentAboveUsed(ValidationError):
    """A repayment larger than what the merchant owes on its line; ``values`` carry ``amount`` and ``used``."""

    code = "repayment-above-used"


class PledgeRefused(Conflict):
    """A pledge, unpledge or valuation the asset vault refuses (or would): an unlisted collection, a member
    that owes or is in default, more than it pledged, too many positions. ``field`` names what decides it
    and ``values`` carry the vault's numbers (``error`` names the vault's custom error when it answered)."""

    code = "pledge-refused"


class AdvanceRefused(Conflict):
    """A receivable advance the house will not pay now (the request is well-formed): the cycle is not
    committed, held or settled, nothing is pending, the debtor's tier backs no advance, the pool is short."""

    code = "advance-refused"


class AdvanceExists(AdvanceRefused):
    """The creditor already has an advance on its credit in that cycle (``ClearingHouseAdvanceExists``);
    ``values`` carry ``cycle_id`` and ``creditor``."""

    code = "advance-exists"


class AdvanceExceedsCredit(AdvanceRefused):
    """The advance would assign more than the creditor's pending credit (``ClearingHouseAdvanceExceedsCredit``);
    ``values`` carry ``cycle_id``, ``creditor``, ``pending`` and ``owed``."""

    code = "advance-exceeds-credit"
