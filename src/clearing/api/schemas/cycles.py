from __future__ import annotations

from pydantic import Field

from clearing.api.schemas.common import AmountOut, OutSchema


class CycleOut(OutSchema):
    id: int
    state: str = Field(examples=["SETTLED"])
    root: str | None = None
    gross: AmountOut
    settled_value: AmountOut
    obligations: int = 0
    settled: int = 0
    carried: int = 0
    commit_tx_hash: str | None = None
    release_tx_hash: str | None = None
    positions: dict[str, AmountOut] = Field(default_factory=dict)
