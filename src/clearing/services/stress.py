"""The operator's what-if on the live ledger: the two largest exposures default, then demand × N.

Reads what a forecast run reads (``services/forecasts/inputs.py``: each member's daily flows, headroom,
line, the calendar), what Cover 2 reads (``services/cover2.py``: drawn, in-flight net debit, collateral)
and the pool's equity from the chain; forecasts every member's paths with the house's model
(:func:`clearing.domain.forecast.forecast_member`, the same seeds as a forecast run, so the same ledger
gives the same answer) and hands them to :func:`clearing.domain.stress.stress`. Nothing is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC

from clearing.domain.cover2 import Cover2
from clearing.domain.forecast import forecast_member
from clearing.domain.stress import StressMember, StressResult, stress
from clearing.errors import ServiceUnavailable, ValidationError
from clearing.services import cover2
from clearing.services.context import ServiceContext
from clearing.services.forecasts.inputs import gather

__all__ = ["WhatIf", "what_if"]

#: The largest demand multiple the what-if accepts.
MAX_DEMAND = 10.0


@dataclass(frozen=True)
class WhatIf:
    result: StressResult
    #: The stored Cover 2 figure this starts from (None: none computed yet) and the same computed now.
    cover2_latest: cover2.Cover2View | None
    cover2_now: Cover2


def what_if(ctx: ServiceContext, *, days: int | None = None, demand: float = 2.0) -> WhatIf:
    """The stress test over the next ``days`` (default: the forecast horizon) at ``demand`` × the forecast."""
    if ctx.contracts is None:
        raise ServiceUnavailable("this server has no chain: the what-if needs the pool's equity from it", field=None)
    cfg = ctx.settings.forecast
    horizon = cfg.horizon if days is None else days
    if type(horizon) is not int or not 1 <= horizon <= 31:
        raise ValidationError("days must be 1..31", field="days", days=horizon)
    if not 0 < demand <= MAX_DEMAND:
        raise ValidationError(f"demand must be in (0, {MAX_DEMAND:g}]", field="demand", demand=demand)
    with ctx.uow(read_only=True) as uow:
        s = uow.session
        inputs = gather(s, start=ctx.clock().astimezone(UTC).date(), horizon=horizon, history_days=cfg.history_days,
                        names=None)  # fmt: skip
        exposure = {e.name: e for e in cover2.exposures(s)}
    resources = ctx.contracts.house.pool_total()
    members = []
    for m in inputs.members:
        fc = forecast_member(
            m.name, m.history, horizon=horizon, events=inputs.events, seed=m.member_id, n_paths=cfg.paths
        )
        e = exposure[m.name]
        members.append(StressMember(m.name, e.drawn, e.in_flight_net_debit, e.collateral, m.credit_line, fc.paths))
    result = stress(members, resources, demand=float(demand), horizon=horizon)
    return WhatIf(result=result, cover2_latest=cover2.latest(ctx), cover2_now=result.cover2_now)
