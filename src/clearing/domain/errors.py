"""Errors the pure core raises, each carrying the values that failed.

Every class subclasses :class:`clearing.errors.ValidationError` (bad input,
HTTP 422) or :class:`clearing.errors.ClearingError` (a broken invariant), so
callers catch one root and the CLI prints one readable line.

>>> from clearing.errors import ValidationError
>>> err = NonPositiveAmount("obligation 'x': amount must be > 0, got 0", field="amount", obligation="x", amount=0)
>>> isinstance(err, ValidationError), err.field, err.values["amount"]
(True, 'amount', 0)
"""

from __future__ import annotations

from clearing.errors import ClearingError, NotFound, ValidationError


class InvalidObligation(ValidationError):
    """An obligation is malformed; ``values['obligation']`` names it."""

    code = "invalid-obligation"


class NonPositiveAmount(InvalidObligation):
    """Amount is zero, negative or not an integer."""

    code = "non-positive-amount"


class AmountOutOfRange(InvalidObligation):
    """Amount does not fit a ``uint256``."""

    code = "amount-out-of-range"


class SelfObligation(InvalidObligation):
    """Debtor and creditor are the same member."""

    code = "self-obligation"


class UnknownMember(InvalidObligation):
    """Debtor or creditor is not in the allowed member set."""

    code = "unknown-member"


class DuplicateObligation(InvalidObligation):
    """Two obligations in one batch share an id."""

    code = "duplicate-obligation"


class InvalidLiquidity(ValidationError):
    """An available-liquidity entry is negative or not an integer."""

    code = "invalid-liquidity"


class InvalidOption(ValidationError):
    """A function option (method, time budget, ...) is out of range."""

    code = "invalid-option"


class NettingInfeasible(ClearingError):
    """An internal invariant failed (positions do not sum to zero, a plan
    breaks a liquidity limit). Never expected; raised rather than returned."""

    code = "netting-infeasible"


class InvalidAddress(ValidationError):
    """Not a 20-byte 0x address, or mixed case with a wrong EIP-55 checksum."""

    code = "invalid-address"


class InvalidLeaf(ValidationError):
    """A Merkle leaf or leaf field is malformed (wrong length, out of range)."""

    code = "invalid-leaf"


class LeafNotFound(NotFound):
    """The leaf asked for is not in the tree."""

    code = "leaf-not-found"


class InvalidCreditInputs(ValidationError):
    code = "invalid-credit-inputs"


class InvalidConfig(ValidationError):
    """A credit or risk configuration is inconsistent (e.g. tier A line > 30%)."""

    code = "invalid-config"


class UnknownTier(ValidationError):
    code = "unknown-tier"


class InvalidRiskInput(ValidationError):
    """An obligation, member or history entry given to the risk rules is malformed."""

    code = "invalid-risk-input"
