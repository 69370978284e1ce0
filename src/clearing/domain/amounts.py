"""Amounts on the wire: integers become decimal strings.

JSON readers may hold numbers as 64-bit floats, exact only below 2^53, while
an amount is any ``uint256``; so every amount that leaves the house as JSON
(API bodies, hold values, audit-log payloads, indexed event arguments) is a
decimal string. Booleans are ints in Python and stay booleans.

>>> as_json(10**30), as_json(True), as_json("x")
('1000000000000000000000000000000', True, 'x')
>>> as_json_values({"amount": 5, "rule": "velocity-count", "over": False})
{'amount': '5', 'rule': 'velocity-count', 'over': False}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["as_json", "as_json_values"]


def as_json(value: Any) -> Any:
    """``value`` as a decimal string if it is an int (not a bool), else unchanged."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def as_json_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """A mapping's values through :func:`as_json` (a plain dict, ready to serialise)."""
    return {k: as_json(v) for k, v in values.items()}
