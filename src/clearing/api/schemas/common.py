"""Shared schema pieces: exact amounts as decimal strings, problem details."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    PlainSerializer,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema as cs

from clearing.api.schemas.text import declare_no_nul, reject_nul

UINT256_MAX = 2**256 - 1
#: The largest integer a JSON number holds exactly in every reader (an IEEE double); past it, strings only.
JSON_SAFE_MAX = 2**53 - 1
_DIGITS = re.compile(r"[0-9]{1,78}")
_SIGNED = re.compile(r"-?[0-9]{1,79}")


def parse_limit(value: Any) -> int:
    """A non-negative uint256 (limits and credit lines may be 0); same format rules as amounts.

    >>> parse_limit("0"), parse_limit(5)
    (0, 5)
    """
    return parse_amount(value, minimum=0)


def parse_amount(value: Any, minimum: int = 1) -> int:
    """A positive uint256 from a decimal string (or a JSON integer up to 2^53-1); never a float.

    >>> parse_amount("12000"), parse_amount(7)
    (12000, 7)
    """
    if isinstance(value, bool):
        raise ValueError("amount must be a decimal string, not a boolean")
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON has one number type: 454.0 is the integer 454 (JSON Schema agrees); 1.5 is refused
    if isinstance(value, int):
        if value > JSON_SAFE_MAX:
            raise ValueError("amounts past 2^53-1 must be decimal strings (JSON numbers that large lose digits)")
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


def decimal_pattern(minimum: int, maximum: int = UINT256_MAX) -> str:
    """A regular expression for the decimal strings (leading zeros allowed) of ``minimum..maximum``.

    JSON Schema cannot bound a number written as a string, so the bound is spelled
    out digit by digit: the OpenAPI document then admits exactly what
    :func:`parse_amount` accepts (with ``maxLength`` 78), and fuzzers generate
    neither refused valid amounts nor accepted invalid ones. ``minimum`` is 0 or 1.

    >>> import re
    >>> p = decimal_pattern(1, 250)
    >>> [bool(re.fullmatch(p, v)) for v in ("0", "1", "007", "249", "250", "251", "300", "1000")]
    [False, True, True, True, True, False, False, False]
    """
    top = str(maximum)
    below = [f"[1-9][0-9]{{0,{len(top) - 2}}}"] if len(top) > 1 else []
    for i, digit in enumerate(top):
        low = 1 if i == 0 else 0
        if int(digit) > low:
            below.append(f"{top[:i]}[{low}-{int(digit) - 1}][0-9]{{{len(top) - i - 1}}}")
    body = "|".join([*below, top])
    return f"^0*(?:{body})$" if minimum == 1 else f"^(?:0+|0*(?:{body}))$"


def _amount_schema(minimum: int, description: str, examples: list[str]) -> dict[str, Any]:
    return {
        "anyOf": [
            {"type": "string", "pattern": decimal_pattern(minimum), "maxLength": 78},
            {"type": "integer", "minimum": minimum, "maximum": JSON_SAFE_MAX},
        ],
        "description": description,
        "examples": examples,
    }


#: Request amount: positive, ≤ 2^256-1, decimal string (integers accepted), floats refused.
AmountIn = Annotated[
    int,
    BeforeValidator(parse_amount),
    WithJsonSchema(
        _amount_schema(
            1,
            "Smallest token units as a decimal string, 0 < amount < 2^256 (a JSON integer up to 2^53-1 too)",
            ["12000"],
        )
    ),
]

#: Request limit or credit line: like ``AmountIn`` but 0 is allowed.
LimitIn = Annotated[
    int,
    BeforeValidator(parse_limit),
    WithJsonSchema(
        _amount_schema(
            0,
            "Smallest token units as a decimal string, 0 ≤ value < 2^256 (a JSON integer up to 2^53-1 too)",
            ["0", "5000000"],
        )
    ),
]

#: Response amount (may be negative for signed balances): always a decimal string.
AmountOut = Annotated[
    int,
    PlainSerializer(_str, return_type=str, when_used="always"),
    WithJsonSchema({"type": "string", "pattern": "^-?[0-9]{1,79}$", "examples": ["12000"]}, mode="serialization"),
]


class Schema(BaseModel):
    """A request body: unknown fields refused, and no string anywhere in it may hold NUL (see ``schemas.text``)."""

    # strict: a JSON type other than the declared one is refused (0 is not false, "5" is not 5)
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    @field_validator("*")
    @classmethod
    def storable_text(cls, value: Any, info: ValidationInfo) -> Any:
        reject_nul(value, info.field_name or "")
        return value

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: cs.CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        out = handler(schema)
        if handler.mode == "validation":
            for prop in handler.resolve_ref_schema(out).get("properties", {}).values():
                declare_no_nul(prop)
        return out


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


#: A client-chosen idempotency key: printable ASCII without spaces.
RequestId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[!-~]+$", examples=["release-2024-06-01-a"])]

#: A member named by its slug or its 0x address.
#: An integer as JSON has it: ``100.0`` is the integer 100 there (one number type), other floats and strings are not.
JsonInt = Annotated[int, BeforeValidator(lambda v: int(v) if isinstance(v, float) and v.is_integer() else v)]
#: Member (name or address) -> amount; other keys are refused by the document too (no additionalProperties).
MemberAmounts = Annotated[
    dict[Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")], AmountIn],
    Field(json_schema_extra={"additionalProperties": False}),
]
MemberRef = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$", examples=["beta-cards"])]


class UnsignedTxOut(OutSchema):
    """A transaction for your own wallet to sign and send; the wallet adds nonce, gas and fees."""

    model_config = ConfigDict(from_attributes=True, populate_by_name=True)

    from_: str = Field(alias="from", validation_alias="sender", serialization_alias="from", examples=["0x7099…79C8"])
    to: str = Field(examples=["0x5FbD…0aa3"])
    data: str = Field(description="0x-hex call data", examples=["0x00f714ce…"])
    value: AmountOut = Field(description="Wei sent along: always 0 (the contracts move the token, not ether)")
    chain_id: int = Field(examples=[31337])
