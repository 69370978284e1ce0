"""What a request may carry in its strings and ids, checked once for every request.

PostgreSQL cannot store the NUL character in text (SQLite can), and ledger ids
are 64-bit: without these checks a NUL in any string, or an id past 2^63-1,
reached the database and came back as a 500 on one backend and not the other.
Every request body model (``Schema``) refuses NUL in all its strings, nested
ones and dict keys included, and declares it in the OpenAPI document (a
``pattern`` on each string), so clients and fuzzers know the rule; path and
query parameters use :class:`NoNul` and :data:`RowId`.

>>> reject_nul({"a": ["ok", "n\\x00"]}, "overrides")
Traceback (most recent call last):
...
ValueError: overrides['a'][1] must not contain the NUL character (U+0000)
"""

from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import Field, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema as cs
from typing_extensions import TypeAliasType

#: JSON Schema pattern of a string without NUL (ECMA-262 and Python ``re`` read it alike).
NO_NUL = "^[^\\u0000]*$"
#: The largest id a ledger row can have (BIGINT).
INT64_MAX = 2**63 - 1


def reject_nul(value: Any, where: str = "") -> None:
    """Raise ``ValueError`` naming the first string (or dict key) in ``value`` that holds a NUL."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError(f"{where or 'text'} must not contain the NUL character (U+0000)")
    elif isinstance(value, dict):
        for key, item in value.items():
            reject_nul(key, f"a key of {where or 'an object'}")
            reject_nul(item, f"{where}[{key!r}]")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            reject_nul(item, f"{where}[{i}]")


def declare_no_nul(schema: JsonSchemaValue) -> None:
    """Add the no-NUL ``pattern`` to every free-form string in ``schema`` (in place; refs are left to their owner)."""
    kind = schema.get("type")
    if kind == "string" and not {"pattern", "enum", "const", "format"} & schema.keys():
        schema["pattern"] = NO_NUL
    if kind == "object" and "additionalProperties" in schema:
        schema.setdefault("propertyNames", {"pattern": NO_NUL})
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        for sub in schema.get(key, ()):
            declare_no_nul(sub)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            declare_no_nul(schema[key])


class NoNul:
    """``Annotated`` marker: the string may not hold NUL; declared as a ``pattern`` in the OpenAPI document.

    ``name`` names the value in the error (path and query parameters are validated without their name).
    """

    def __init__(self, name: str = "") -> None:
        self.name = name

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> cs.CoreSchema:
        def check(value: str, info: cs.ValidationInfo) -> str:
            reject_nul(value, self.name or info.field_name or "")
            return value

        return cs.with_info_after_validator_function(check, handler(source))

    def __get_pydantic_json_schema__(self, schema: cs.CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        out = handler(schema)
        declare_no_nul(out)
        return out


#: String path parameters that the ledger can store.
ObligationIdParam = Annotated[str, NoNul("obligation_id")]
MemberNameParam = Annotated[str, NoNul("name")]

#: ``?submitter=``: the member that submitted an obligation, by name or 0x address. Obligation ids are
#: unique per submitting member, so an id several members used needs it (for a member, it defaults to
#: itself). The pattern admits every member name and address, and no NUL.
SubmitterParam = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^(?:[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?|0[xX][0-9a-fA-F]{40})$",
        description=(
            "The member that submitted the obligation (name or 0x address): ids are unique per submitter. "
            "Needed only where several members used the id; a member's own submission is found without it."
        ),
        examples=["alpha-games"],
    ),
]

#: A ledger row id (cycle, hold) in a path or query: positive and within BIGINT.
RowId = Annotated[int, Field(ge=1, le=INT64_MAX)]


class Declared:
    """``Annotated`` marker that only adds keywords to the JSON schema (validation is the model's)."""

    def __init__(self, **keywords: Any) -> None:
        self.keywords = keywords

    def __get_pydantic_json_schema__(self, schema: cs.CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        out = handler(schema)
        handler.resolve_ref_schema(out).update(self.keywords)
        return out


#: Any JSON value. Its strings and keys are checked by the request model (``Schema``), as one clean
#: error naming the field; the type only declares the rule, so fuzzers generate storable values.
JsonValue = TypeAliasType(
    "JsonValue",
    Union[  # noqa: UP007 - a recursive alias needs the string forward references
        Annotated[dict[str, "JsonValue"], Declared(propertyNames={"pattern": NO_NUL})],
        list["JsonValue"],
        Annotated[str, Declared(pattern=NO_NUL)],
        int,
        float,
        bool,
        None,
    ],
)
