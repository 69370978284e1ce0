"""One root exception for every layer; callers catch ``ClearingError``.

Subclasses carry the failing values so the API can name the field and the CLI
can print one readable line. The domain raises these too (they are pure).
"""

from __future__ import annotations


class ClearingError(Exception):
    """Root of every error this package raises on purpose."""

    #: HTTP status the API maps this error to.
    status: int = 400
    #: Short machine-readable code used in problem bodies.
    code: str = "clearing-error"

    def __init__(self, message: str, *, field: str | None = None, **values: object) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.values = values


class ValidationError(ClearingError):
    """Input is malformed: a field is missing, negative, unknown or mistyped."""

    status = 422
    code = "validation-error"


class NotFound(ClearingError):
    status = 404
    code = "not-found"


class Conflict(ClearingError):
    status = 409
    code = "conflict"


class Forbidden(ClearingError):
    status = 403
    code = "forbidden"


class ChainError(ClearingError):
    """The chain refused or could not be reached."""

    status = 502
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

    status = 401
    code = "unauthorized"


class ServiceUnavailable(ClearingError):
    status = 503
    code = "service-unavailable"


class InsufficientHeadroom(Conflict):
    """A request needs more free collateral or credit than the member has.

    ``values`` carry ``available`` and ``needed`` (ints).
    """

    code = "insufficient-headroom"


class ObligationConflict(Conflict):
    """An obligation id was already used with a different body (idempotency key reuse)."""

    code = "obligation-conflict"


class InvalidSignature(ValidationError):
    """The EIP-712 signature is malformed or not the debtor's."""

    code = "invalid-signature"


class NotAParty(Forbidden):
    """The submitting member is neither the debtor nor the creditor."""

    code = "not-a-party"


class BatchRejected(ValidationError):
    """Some items of a batch are invalid; nothing was written.

    ``items`` lists ``{"index", "id", "code", "field", "detail"}`` per bad item.
    """

    code = "batch-rejected"

    def __init__(self, message: str, *, items: list[dict[str, object]], status: int = 422, **values: object) -> None:
        super().__init__(message, **values)
        self.items = items
        self.status = status
