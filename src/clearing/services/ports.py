"""Ports: what the API needs from the cycle service.

Chain writes have no port: they all go through ``clearing.services.outbox``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable


class CycleLike(Protocol):
    """What the cycles router reads from a cycle (``clearing.services.cycles.CycleView``)."""

    id: int
    state: str
    root: str | None
    gross: int
    settled_value: int
    obligations: int
    settled: int
    carried: int
    commit_tx_hash: str | None
    release_tx_hash: str | None
    positions: dict[str, int]


@runtime_checkable
class CycleService(Protocol):
    """Implemented by ``clearing.services.cycles.CycleService``; the cycles router calls only this."""

    def open(self) -> CycleLike: ...

    def close(self, cycle_id: int | None = None) -> CycleLike: ...

    def settle(self, cycle_id: int | None = None) -> CycleLike: ...

    def get(self, cycle_id: int) -> CycleLike: ...

    def list(self, limit: int = 100) -> Sequence[CycleLike]: ...
