"""Forecasts in the service: each member's daily flows 7–14 days ahead, its shortfall date and top-up advice,
and the pool's needs, from the ledger and the operator's event calendar.

- ``inputs``: what a run reads (flows through ``adapters/db/daily_flows``, headroom, lines, the calendar);
- ``run``: forecast (``clearing.domain.forecast``), store with model and data versions, say what changed;
- ``views``: each member's and the pool's latest stored forecast.

The event calendar itself is ``services/calendar.py``.
"""

from clearing.services.forecasts.run import TRIGGERS, PoolSummary, RunResult, run
from clearing.services.forecasts.views import (
    DayView,
    ForecastSummary,
    MemberForecastView,
    PoolDayView,
    PoolForecastView,
    TopUpView,
    current_shortfalls,
    latest,
    of_member,
    of_name,
    pool,
)

__all__ = [
    "TRIGGERS",
    "DayView",
    "ForecastSummary",
    "MemberForecastView",
    "PoolDayView",
    "PoolForecastView",
    "PoolSummary",
    "RunResult",
    "TopUpView",
    "current_shortfalls",
    "latest",
    "of_member",
    "of_name",
    "pool",
    "run",
]
