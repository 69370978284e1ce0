"""``clearing bench forecast --pipeline-members N``: what the service adds around the bare model.

The credit bench's loader fills a fresh PostgreSQL ledger (members and
obligations spread over its last 120 days); then one forecast run through the
service (``services.forecasts.run``: ledger read of daily flows, headroom,
lines and calendar, the model, the pool, storage of every forecast) is timed
against the bare model, ``forecast_member`` over the same histories with the
same paths and seeds, measured in the same run.
"""

from __future__ import annotations

import time
from typing import Any

from clearing.adapters.db import migrate
from clearing.bench.credit import AS_OF, fresh_database, load
from clearing.bootstrap import build_service
from clearing.domain.forecast import forecast_member
from clearing.progress import Progress
from clearing.services import forecasts
from clearing.services.forecasts.inputs import gather
from clearing.settings import ForecastSettings, Settings


def run(*, members: int, obligations: int, seed: int, pg_url: str | None, progress: Progress) -> dict[str, Any]:
    with fresh_database(pg_url, "forecast") as (url, engine):
        with progress.step(f"migrating and loading {members:,} members, {obligations:,} obligations"):
            migrate(url)
            load(engine, members=members, obligations=obligations, seed=seed, progress=progress)
        cfg = ForecastSettings()
        ctx = build_service(
            Settings(database_url=url, forecast=cfg), engine=engine, with_chain=False, clock=lambda: AS_OF
        )
        start = AS_OF.date()
        with ctx.uow(read_only=True) as uow:
            inputs = gather(uow.session, start=start, horizon=cfg.horizon, history_days=cfg.history_days, names=None)
        with progress.step("bare model: forecast_member over the same histories"):
            t0 = time.perf_counter()
            for m in inputs.members:
                forecast_member(
                    m.name, m.history, horizon=cfg.horizon, events=inputs.events, balance=m.balance,
                    seed=m.member_id, n_paths=cfg.paths,
                )  # fmt: skip
            bare = time.perf_counter() - t0
        with progress.step("the service's run: read, forecast, pool, store"):
            t0 = time.perf_counter()
            result = forecasts.run(ctx, trigger="manual")
            pipeline = time.perf_counter() - t0
    return {
        "members": result.members,
        "obligations": obligations,
        "stored": result.stored,
        "bare_model_seconds": round(bare, 2),
        "service_run_seconds": round(pipeline, 2),
        "ratio_service_to_bare": round(pipeline / bare, 3),
        "target_ratio_max": 1.5,
    }
