"""Shared schema pieces: exact amounts as decimal strings, problem details."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, WithJsonSchema

UINT256_MAX = 2**256 - 1
_DIGITS = re.compile(r"[0-9]{1,78}")
_SIGNED = re.compile(r"-?[0-9]{1,79}")


def parse_limit(value: Any) -> int:
    """A non-negative uint256 (limits and credit lines may be 0); same format rules as amounts.

    >>> parse_limit("0"), parse_limit(5)
    (0, 5)
    """
    return parse_amount(value, minimum=0)


def parse_amount(value: Any, minimum: int = 1) -> int:
    """A positive uint256 from a decimal string (or a JSON integer); never a float.

    >>> parse_amount("12000"), parse_amount(7)
    (12000, 7)
    """
    if isinstance(value, bool):
        raise ValueError("amount must be a decimal string, not a boolean")
    if isinstance(value, int):
        n = value
    elif isinstance(value, str):
        if not _DIGITS.fullmatch(value):
            raise ValueError("amount must be a decimal string of digits (no sign, point, exponent or spaces)")
        n = int(value)
    else:
        raise ValueError(f"amount must be a decimal string or an integer, not {type(value).__name__}")
    if n < minimum:
        raise ValueError("amount must be greater than 0" if minimum == 1 else f"amount must be at least {minimum}")
    if n > UINT256_MAX:
        raise ValueError("amount must fit a uint256 (at most 2^256-1)")
    return n


def _str(v: int) -> str:
    return str(v)


#: Request amount: positive, ≤ 2^256-1, decimal string (integers accepted), floats refused.
AmountIn = Annotated[
    int,
    BeforeValidator(parse_amount),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": "^[0-9]{1,78}$",
            "description": (
                "Smallest token units as a decimal string (a JSON integer is accepted too); 0 < amount < 2^256"
            ),
            "examples": ["12000"],
        }
    ),
]

#: Request limit or credit line: like ``AmountIn`` but 0 is allowed.
LimitIn = Annotated[
    int,
    BeforeValidator(parse_limit),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": "^[0-9]{1,78}$",
            "description": (
                "Smallest token units as a decimal string (a JSON integer is accepted too); 0 ≤ value < 2^256"
            ),
            "examples": ["0", "5000000"],
        }
    ),
]

#: Response amount (may be negative for signed balances): always a decimal string.
AmountOut = Annotated[
    int,
    PlainSerializer(_str, return_type=str, when_used="always"),
    WithJsonSchema({"type": "string", "pattern": "^-?[0-9]{1,79}$", "examples": ["12000"]}, mode="serialization"),
]


class Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OutSchema(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ProblemItem(BaseModel):
    field: str | None = None
    detail: str
    code: str | None = None
    index: int | None = None
    id: str | None = None


class Problem(BaseModel):
    """RFC 9457 problem details (``application/problem+json``)."""

    type: str = Field(examples=["/problems/validation-error"])
    title: str = Field(examples=["Validation error"])
    status: int = Field(examples=[422])
    detail: str = Field(examples=["amount must be greater than 0"])
    instance: str | None = Field(default=None, examples=["/obligations"])
    code: str = Field(examples=["validation-error"])
    field: str | None = Field(default=None, examples=["amount"])
    values: dict[str, Any] = Field(default_factory=dict)
    errors: list[ProblemItem] = Field(default_factory=list)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for problem bodies.

    Every route that authenticates (401) may also answer 429: failed authentication is rate-limited.
    """
    if 401 in statuses and 429 not in statuses:
        statuses = (*statuses, 429)
    text = {
        400: "Bad request",
        401: "Missing or unknown API key",
        403: "Not allowed for this key",
        404: "Not found (or not yours)",
        409: "Conflict",
        422: "Invalid input; names the field",
        429: "Too many failed authentications from this client or at this key prefix; see Retry-After",
        503: "Dependency not configured",
    }
    return {
        s: {"model": Problem, "description": text.get(s, "Error"), "content": {"application/problem+json": {}}}
        for s in statuses
    }
