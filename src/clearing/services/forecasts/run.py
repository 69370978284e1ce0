"""A forecast run: every member's flows forecast and projected, the pool's needs, stored with what made them.

1. read the inputs (``inputs.gather``: flows, balances, lines, calendar) in one read-only session, and the
   pool's liquidity from the chain (0 for a house without one);
2. forecast each member (``clearing.domain.forecast.forecast_member``, seeded by the member's id, so a
   rerun on the same data gives the same numbers), then the pool over all of them;
3. store, in one transaction (serialised across processes), a ``member_forecasts`` row per member whose
   data version or model version differs from its latest row, and a ``pool_forecasts`` row likewise:
   a rerun on unchanged data writes nothing;
4. return a :class:`RunResult`: every member's shortfall date and top-up advice, and which of them
   appeared, changed or went since the member's latest stored forecast (what alerts and webhooks follow).

The scheduler runs it every ``forecast.schedule_seconds`` in the chain writer's process; operators run it
on demand (``POST /forecasts/run``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from clearing.adapters.db.forecast_models import MemberForecastRow, PoolForecastRow, latest_forecast_ids
from clearing.adapters.db.lease import xact_lock
from clearing.domain.forecast import (
    MODEL_VERSION,
    MemberForecast,
    PoolForecast,
    PoolMember,
    TopUp,
    forecast_member,
    pool_forecast,
)
from clearing.domain.vocabulary import EventType
from clearing.errors import ValidationError
from clearing.services.context import ServiceContext
from clearing.services.forecasts.inputs import MemberInputs, RunInputs, digest, gather, member_data_version
from clearing.services.webhooks import Event, publish_many

TRIGGERS = ("schedule", "manual", "demo")
#: Serialises runs across processes (an on-demand run and the scheduler's).
LOCK = "clearing.forecasts"


@dataclass(frozen=True, slots=True)
class PoolSummary:
    liquidity: int
    needed_95: int
    idle: int
    #: False: the same data as the latest stored pool forecast (nothing written).
    stored: bool


@dataclass(frozen=True, slots=True)
class RunResult:
    computed_at: datetime
    start: date
    horizon: int
    #: Members forecast.
    members: int
    #: Member forecasts written (the others had the same data and model as their latest).
    stored: int
    #: Every member's first day with a shortfall probability of 10% or more (None: none in the horizon).
    shortfalls: Mapping[str, date | None]
    #: Every member's top-up advice (None: none needed).
    topups: Mapping[str, TopUp | None]
    #: Members whose shortfall date or top-up appeared, changed or went against their latest stored forecast.
    changed: tuple[str, ...]
    #: The pool's forecast; None for a run over some members only.
    pool: PoolSummary | None


def run(
    ctx: ServiceContext, *, trigger: str, members: Collection[str] | None = None, horizon: int | None = None
) -> RunResult:
    """Forecast ``members`` (default: all, and then the pool too) ``horizon`` days ahead, and store it."""
    if trigger not in TRIGGERS:
        raise ValidationError(f"trigger must be one of {', '.join(TRIGGERS)}", field="trigger", trigger=trigger)
    cfg = ctx.settings.forecast
    horizon = cfg.horizon if horizon is None else horizon
    if not 1 <= horizon <= 31:
        raise ValidationError("horizon must be 1..31 days", field="horizon", horizon=horizon)
    now = ctx.clock()
    with ctx.uow(read_only=True) as uow:
        inputs = gather(
            uow.session, start=now.astimezone(UTC).date(), horizon=horizon, history_days=cfg.history_days, names=members
        )
    liquidity = _pool_liquidity(ctx) if members is None else 0
    forecasts, lines = _forecast_all(inputs, cfg.paths)
    versions = {
        m.name: member_data_version(inputs, m, model_version=MODEL_VERSION, paths=cfg.paths, seed=m.member_id)
        for m in inputs.members
    }
    pool = pool_forecast(lines, liquidity=liquidity) if members is None else None
    with ctx.uow() as uow:
        s = uow.session
        xact_lock(s, LOCK)
        latest = _latest_rows(s, [m.member_id for m in inputs.members])
        stored, changed = 0, []
        for m in inputs.members:
            fc, prev = forecasts[m.name], latest.get(m.member_id)
            if prev is not None and _advice(prev) != _advice_of(fc):
                changed.append(m.name)
            elif prev is None and (fc.shortfall_date is not None or fc.topup is not None):
                changed.append(m.name)
            if prev is None or (prev.data_version, prev.model_version) != (versions[m.name], MODEL_VERSION):
                s.add(_member_row(m, fc, versions[m.name], trigger, now, inputs))
                stored += 1
        publish_many(s, _advised(forecasts, changed))
        summary = None
        if pool is not None:
            pool_version = digest({"members": versions, "liquidity": str(liquidity), "balances": _pool_inputs(inputs)})
            summary = _store_pool(s, pool, pool_version, trigger, now, inputs)
        uow.commit()
    return RunResult(
        computed_at=now,
        start=inputs.start,
        horizon=horizon,
        members=len(inputs.members),
        stored=stored,
        shortfalls={n: fc.shortfall_date for n, fc in forecasts.items()},
        topups={n: fc.topup for n, fc in forecasts.items()},
        changed=tuple(changed),
        pool=summary,
    )


def _forecast_all(run: RunInputs, paths: int) -> tuple[dict[str, MemberForecast], list[PoolMember]]:
    """Every member's forecast, and the pool's view of those with a credit line.

    A member without a line never draws on the pool (its share is clipped to zero), so its simulated paths
    (``paths`` × horizon floats, 224 kB at the defaults) are dropped at once: a run over 10,000 members keeps
    only the paths of members that can draw.
    """
    out: dict[str, MemberForecast] = {}
    lines: list[PoolMember] = []
    for m in run.members:
        fc = forecast_member(
            m.name,
            m.history,
            horizon=run.horizon,
            events=run.events,
            balance=m.balance,
            seed=m.member_id,
            n_paths=paths,
        )
        if m.credit_line > 0:
            lines.append(PoolMember(forecast=fc, balance=m.chain_balance, credit_line=m.credit_line))
        else:
            fc = dataclasses.replace(fc, paths=_NO_PATHS)
        out[m.name] = fc
    return out, lines


#: What a forecast keeps of its paths once the pool has no use for them.
_NO_PATHS = np.zeros((0, 0))


def _pool_liquidity(ctx: ServiceContext) -> int:
    """The pool's lender deposits, read from the chain (a house without a chain has no pool: 0)."""
    if ctx.contracts is None:
        return 0
    return int(ctx.contracts.house.pool_total())


def _pool_inputs(run: RunInputs) -> list[list[str]]:
    return [[m.name, str(m.chain_balance), str(m.credit_line)] for m in run.members]


def _latest_rows(s: Session, member_ids: list[int]) -> dict[int, MemberForecastRow]:
    """Each member's newest stored forecast."""
    if not member_ids:
        return {}
    rows = s.scalars(select(MemberForecastRow).where(MemberForecastRow.id.in_(latest_forecast_ids(member_ids))))
    return {r.member_id: r for r in rows}


def _advised(forecasts: dict[str, MemberForecast], changed: list[str]) -> Iterator[Event]:
    """``topup.advised`` for each member whose advice appeared or changed (lazily: free without subscribers)."""
    for name in changed:
        fc = forecasts[name]
        if fc.topup is not None:
            data = {
                "member": name,
                "amount": str(fc.topup.amount),
                "by": fc.topup.by.isoformat(),
                "shortfall_date": fc.shortfall_date.isoformat() if fc.shortfall_date else None,
                "forecast_start": fc.start.isoformat(),
                "horizon": len(fc.days),
            }
            yield EventType.TOPUP_ADVISED, data, [name]


def _advice(row: MemberForecastRow) -> tuple[date | None, int | None, date | None]:
    return row.shortfall_date, row.topup_amount, row.topup_by


def _advice_of(fc: MemberForecast) -> tuple[date | None, int | None, date | None]:
    return fc.shortfall_date, None if fc.topup is None else fc.topup.amount, None if fc.topup is None else fc.topup.by


def _amount(v: int | None) -> str | None:
    return None if v is None else str(v)


def days_json(fc: MemberForecast) -> list[dict[str, Any]]:
    """The forecast's days as stored and served: amounts as decimal strings."""
    return [
        {
            "date": d.day.isoformat(),
            "inflow_p50": str(d.inflow_p50),
            "outflow_p50": str(d.outflow_p50),
            "net_p05": str(d.net_p05),
            "net_p50": str(d.net_p50),
            "net_p95": str(d.net_p95),
            "naive_net": str(d.naive_net),
            "balance_p05": _amount(d.balance_p05),
            "balance_p50": _amount(d.balance_p50),
            "shortfall_probability": round(float(d.shortfall_probability), 6),
        }
        for d in fc.days
    ]


def _member_row(
    m: MemberInputs, fc: MemberForecast, version: str, trigger: str, now: datetime, run: RunInputs
) -> MemberForecastRow:
    return MemberForecastRow(
        member_id=m.member_id,
        computed_at=now,
        start=run.start,
        horizon=run.horizon,
        model=fc.model[:64],
        model_version=MODEL_VERSION,
        data_version=version,
        trigger=trigger,
        shortfall_date=fc.shortfall_date,
        topup_amount=None if fc.topup is None else fc.topup.amount,
        topup_by=None if fc.topup is None else fc.topup.by,
        balance=m.balance,
        days=days_json(fc),
    )


def _store_pool(
    s: Session, pool: PoolForecast, version: str, trigger: str, now: datetime, run: RunInputs
) -> PoolSummary:
    prev = s.scalars(select(PoolForecastRow).order_by(PoolForecastRow.id.desc()).limit(1)).first()
    fresh = prev is None or (prev.data_version, prev.model_version) != (version, MODEL_VERSION)
    if fresh:
        s.add(
            PoolForecastRow(
                computed_at=now,
                start=run.start,
                horizon=run.horizon,
                liquidity=pool.liquidity,
                needed_95=pool.needed_95,
                idle=pool.idle,
                model_version=MODEL_VERSION,
                data_version=version,
                trigger=trigger,
                days=[
                    {
                        "date": d.day.isoformat(),
                        "drawn_p50": str(d.drawn_p50),
                        "drawn_p95": str(d.drawn_p95),
                        "utilisation_p50_bps": d.utilisation_p50_bps,
                        "utilisation_p95_bps": d.utilisation_p95_bps,
                    }
                    for d in pool.days
                ],
            )
        )
    return PoolSummary(liquidity=pool.liquidity, needed_95=pool.needed_95, idle=pool.idle, stored=fresh)
