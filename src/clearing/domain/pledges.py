"""Pledged digital assets: what a member's pledges are worth, and the pledges replayed from the vault's events.

Pure: plain data in, plain data out. The asset vault (``contracts/AssetVault.sol``) values a collection
at one ``unit_value`` per token and counts ``floor(units × unit_value × ltv_bps / 10000)`` of it as
collateral; a valuation older than its ``max_age_seconds`` counts 0 until refreshed. The same rounding
is here, so the service and the auditor recompute exactly what the chain says.

>>> v = Valuation(unit_value=1_000, ltv_bps=5_000, max_age_seconds=3_600, valued_at=100)
>>> collateral_value({"0xC": 3}, {"0xC": v}, now=200)
1500
>>> collateral_value({"0xC": 3}, {"0xC": v}, now=100 + 3_601)
0
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from clearing.errors import ValidationError

BPS = 10_000
#: The vault's bounds (``IAssetVault``): a unit value fits 96 bits, an LTV is at most 100%.
MAX_UNIT_VALUE = 2**96 - 1


@dataclass(frozen=True, slots=True)
class Valuation:
    unit_value: int
    ltv_bps: int
    max_age_seconds: int
    valued_at: int

    def stale(self, now: int) -> bool:
        """Whether the valuation counts 0 at chain time ``now`` (strictly older than its bound, as the vault)."""
        return now > self.valued_at + self.max_age_seconds


def value_down(units: int, unit_value: int, bps: int) -> int:
    """floor(units × unit_value × bps / 10000): the vault's rounding, against the member.

    >>> value_down(3, 1_000, 5_000), value_down(1, 3, 3_333)
    (1500, 0)
    """
    return units * unit_value * bps // BPS


def check_valuation(unit_value: int, ltv_bps: int, max_age_seconds: int) -> None:
    """Refuse, naming the field, what ``setCollection`` would refuse.

    >>> check_valuation(1, 10_001, 60)
    Traceback (most recent call last):
    ...
    clearing.errors.ValidationError: ltv_bps must be within 0..10000, got 10001
    """
    if not 0 <= unit_value <= MAX_UNIT_VALUE:
        raise ValidationError(
            f"unit_value must be within 0..2^96-1, got {unit_value}", field="unit_value", unit_value=unit_value
        )
    if not 0 <= ltv_bps <= BPS:
        raise ValidationError(f"ltv_bps must be within 0..10000, got {ltv_bps}", field="ltv_bps", ltv_bps=ltv_bps)
    if not 0 < max_age_seconds < 2**64:
        raise ValidationError(
            f"max_age_seconds must be > 0, got {max_age_seconds}",
            field="max_age_seconds",
            max_age_seconds=max_age_seconds,
        )


def collection_value(units: int, valuation: Valuation | None, now: int, *, ltv: bool = True) -> int:
    """What ``units`` of one collection count for at ``now``: 0 when unlisted or stale; ``ltv=False``:
    the full value (what a seizure credits)."""
    if valuation is None or valuation.stale(now):
        return 0
    return value_down(units, valuation.unit_value, valuation.ltv_bps if ltv else BPS)


def collateral_value(units: Mapping[str, int], valuations: Mapping[str, Valuation], now: int) -> int:
    """Σ over collections of floor(units × unit_value × ltv / 10000), stale or unlisted ones 0."""
    return sum(collection_value(n, valuations.get(c), now) for c, n in units.items())


@dataclass(frozen=True, slots=True)
class VaultReplay:
    """The vault as its events alone describe it."""

    #: collection → its newest valuation (``CollectionSet``, then ``ValuationUpdated``).
    valuations: dict[str, Valuation]
    #: (member, collection, token id) → amount still pledged (zero ones dropped).
    positions: dict[tuple[str, str, int], int]

    def units(self, member: str) -> dict[str, int]:
        """collection → Σ units ``member`` has pledged in it."""
        out: dict[str, int] = defaultdict(int)
        for (m, c, _), amount in self.positions.items():
            if m == member:
                out[c] += amount
        return dict(out)

    def members(self) -> set[str]:
        return {m for m, _, _ in self.positions}


def replay_vault(events: Iterable[tuple[str, Mapping[str, Any]]]) -> VaultReplay:
    """Valuations and positions from the vault's events ``(name, args)`` in chain order.

    A seizure moves all of a member's units in a collection (``CollectionSeized``), so it clears every
    position of that member in that collection.

    >>> r = replay_vault([
    ...     ("CollectionSet", {"collection": "C", "unitValue": 10, "ltvBps": 5000, "maxAgeSeconds": 60,
    ...                        "valuedAt": 1}),
    ...     ("Pledged", {"member": "M", "collection": "C", "id": 7, "amount": 1}),
    ...     ("Pledged", {"member": "M", "collection": "C", "id": 8, "amount": 1}),
    ...     ("Unpledged", {"member": "M", "collection": "C", "id": 7, "amount": 1}),
    ... ])
    >>> r.positions, r.units("M"), collateral_value(r.units("M"), r.valuations, now=2)
    ({('M', 'C', 8): 1}, {'C': 1}, 5)
    """
    valuations: dict[str, Valuation] = {}
    positions: dict[tuple[str, str, int], int] = defaultdict(int)
    for name, a in events:
        if name == "CollectionSet":
            valuations[a["collection"]] = Valuation(
                int(a["unitValue"]), int(a["ltvBps"]), int(a["maxAgeSeconds"]), int(a["valuedAt"])
            )
        elif name == "ValuationUpdated" and a["collection"] in valuations:
            old = valuations[a["collection"]]
            valuations[a["collection"]] = Valuation(
                int(a["unitValue"]), old.ltv_bps, old.max_age_seconds, int(a["valuedAt"])
            )
        elif name in ("Pledged", "Unpledged"):
            sign = 1 if name == "Pledged" else -1
            positions[(a["member"], a["collection"], int(a["id"]))] += sign * int(a["amount"])
        elif name == "CollectionSeized":
            for key in [k for k in positions if k[0] == a["member"] and k[1] == a["collection"]]:
                positions[key] = 0
    return VaultReplay(valuations, {k: v for k, v in positions.items() if v})
