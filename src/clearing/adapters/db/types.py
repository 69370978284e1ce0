"""Column types that keep money exact and times in UTC on every backend.

``Amount`` holds any ``uint256`` (and the signed on-chain balance mirror).
PostgreSQL stores ``NUMERIC(78, 0)``; SQLite has no exact type past 2^63
(its NUMERIC affinity converts through a double), so there the value is stored
as a decimal string. Both return a Python ``int``.
Consequence on SQLite: compare and sum amounts in Python, never in SQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, Numeric, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

#: uint256 max has 78 decimal digits; a sign makes 79 characters.
AMOUNT_DIGITS = 78


class Amount(TypeDecorator[int]):
    """Exact integer money: ``NUMERIC(78, 0)`` on PostgreSQL, decimal text on SQLite.

    >>> Amount().process_bind_param(2**200, _sqlite) == str(2**200)
    True
    """

    impl = Numeric(AMOUNT_DIGITS, 0)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(AMOUNT_DIGITS + 1))
        return dialect.type_descriptor(Numeric(AMOUNT_DIGITS, 0))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, Decimal) and value == value.to_integral_value():
                value = int(value)
            else:
                raise TypeError(f"amounts are ints, got {type(value).__name__}")
        if dialect.name == "sqlite":
            return str(value)
        return Decimal(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        return int(value)

    def process_literal_param(self, value: Any, dialect: Dialect) -> str:
        return "NULL" if value is None else (f"'{int(value)}'" if dialect.name == "sqlite" else str(int(value)))

    @property
    def python_type(self) -> type:
        return int


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes; SQLite's naive text comes back with ``tzinfo=UTC``."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; use datetime.now(UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class _SqliteForDoctest:
    name = "sqlite"


_sqlite: Any = _SqliteForDoctest()
