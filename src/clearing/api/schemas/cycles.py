from __future__ import annotations

from pydantic import Field

from clearing.api.schemas.common import AmountOut, OutSchema


class CycleOut(OutSchema):
    id: int
    state: str = Field(examples=["SETTLED"])
    root: str | None = None
    gross: AmountOut = Field(description="Value of the cycle's obligations; OPEN: of those the cut-off would take now")
    settled_value: AmountOut
    obligations: int = Field(
        default=0, description="Obligations in the cycle; OPEN: how many the cut-off would take now (see `pending`)"
    )
    settled: int = 0
    carried: int = 0
    commit_tx_hash: str | None = None
    release_tx_hash: str | None = Field(
        default=None,
        description="The transaction that released the funds; after a one-call settle (settleCycle) the commit's own",
    )
    positions: dict[str, AmountOut] = Field(default_factory=dict)
    pending: dict[str, int] = Field(
        default_factory=dict,
        examples=[{"accepted": 12, "queued_beyond_headroom": 1, "carried": 2, "held": 1}],
        description=(
            "OPEN only: obligations waiting, by status. The cut-off takes accepted, queued_beyond_headroom and "
            "carried ones; held and disputed ones wait for review"
        ),
    )
