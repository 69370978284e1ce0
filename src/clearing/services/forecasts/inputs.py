"""What a forecast run reads: each member's daily flows, balance and line, the calendar, the pool's liquidity.

- **flows**: ``adapters/db/daily_flows`` over ``forecast.history_days`` days ending the day before the
  forecast starts (the house clock's date), from the member's first day of trade in that window on;
  days without trade after it are zeros;
- **balance** the projection starts from: the member's headroom now, free collateral + unused credit
  line − net debit already reserved in the open cycle (``domain/headroom.liquidity_of``, what the
  headroom check and ``GET /members/me`` use): accepted trade not yet settled has already spent it;
- **for the pool**: the member's on-chain balance (negative: credit drawn) and its credit line (or what
  it has drawn, if a cut line left it above it);
- **events**: the calendar from the first day of history to the last day forecast;
- **data version**: a short hash of exactly these inputs, so a rerun on the same data is recognised.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from clearing.adapters.db.daily_flows import daily_flows
from clearing.adapters.db.models import Member
from clearing.domain.forecast import DailyFlow
from clearing.domain.headroom import liquidity_of
from clearing.errors import NotFound
from clearing.services.calendar import events_between


@dataclass(frozen=True, slots=True)
class MemberInputs:
    member_id: int
    name: str
    tier: str
    #: One row per day, oldest first, ending the day before the forecast starts.
    history: tuple[DailyFlow, ...]
    #: Headroom now: what the projection starts from.
    balance: int
    #: The on-chain balance mirror (negative: credit drawn) and the most it can draw from the pool: its
    #: line, or what it has drawn when a cut line left it above it (as the headroom check counts it).
    chain_balance: int
    credit_line: int


@dataclass(frozen=True, slots=True)
class RunInputs:
    start: date
    horizon: int
    members: tuple[MemberInputs, ...]
    events: Mapping[date, frozenset[str]]


def gather(s: Session, *, start: date, horizon: int, history_days: int, names: Collection[str] | None) -> RunInputs:
    """Every input of a run, read in one session (all members when ``names`` is None)."""
    q = select(Member).order_by(Member.id)
    if names is not None:
        q = q.where(Member.name.in_(sorted(set(names))))
    rows = list(s.scalars(q))
    if names is not None:
        missing = sorted(set(names) - {m.name for m in rows})
        if missing:
            raise NotFound(f"no member {missing[0]!r}", field="members", name=missing[0])
    first = start - timedelta(days=history_days)
    flows = daily_flows(s, start=first, end=start, member_ids=[m.id for m in rows])
    members = []
    for m in rows:
        liq = liquidity_of(m)
        mine = flows.get(m.id, {})
        since = _history_start(mine, start)
        days = [since + timedelta(days=k) for k in range((start - since).days)]
        history = tuple(DailyFlow(day=d, inflow=mine.get(d, (0, 0))[0], outflow=mine.get(d, (0, 0))[1]) for d in days)
        members.append(
            MemberInputs(
                member_id=m.id,
                name=m.name,
                tier=m.tier,
                history=history,
                balance=liq.headroom,
                chain_balance=m.chain_balance,
                credit_line=max(liq.credit_line, liq.credit_used),
            )
        )
    events = events_between(s, first, start + timedelta(days=horizon))
    return RunInputs(start=start, horizon=horizon, members=tuple(members), events=events)


def _history_start(flows: Mapping[date, tuple[int, int]], start: date) -> date:
    """The member's first day of trade in the window; a member without any starts yesterday (no trade).

    Days before a member's first trade are not trade it lacked but trade it had not begun (it was not
    admitted yet, or not connected): the model would read them as collapses of demand.
    """
    return min(flows, default=start - timedelta(days=1))


def digest(doc: Any) -> str:
    """A short, stable hash of a JSON-able document (16 hex digits)."""
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def member_data_version(run: RunInputs, m: MemberInputs, *, model_version: str, paths: int, seed: int) -> str:
    """Exactly what went into one member's forecast: its flows, the events, its balance, and how it ran."""
    return digest(
        {
            "model_version": model_version,
            "start": run.start.isoformat(),
            "horizon": run.horizon,
            "paths": paths,
            "seed": seed,
            "balance": str(m.balance),
            "flows": [[f.day.isoformat(), str(f.inflow), str(f.outflow)] for f in m.history if f.inflow or f.outflow],
            "history_from": m.history[0].day.isoformat() if m.history else None,
            "events": {d.isoformat(): sorted(names) for d, names in sorted(run.events.items())},
        }
    )
