"""The event calendar: named days the operator expects trade to differ on (sales, paydays); forecasts learn them.

Operators add and remove events (each change audited, in its own transaction); every key may read them.
Adding is idempotent: the same (day, name) again returns the existing event, whoever races whom.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clearing.adapters.db.forecast_models import CalendarEvent
from clearing.errors import NotFound
from clearing.services.audit_log import record_action
from clearing.services.context import ServiceContext
from clearing.services.keys import Principal


@dataclass(frozen=True, slots=True)
class EventView:
    id: int
    date: date
    name: str
    created_at: datetime
    created_by: str


@dataclass(frozen=True, slots=True)
class Added:
    event: EventView
    #: False: the same day and name were already on the calendar (nothing written).
    created: bool


def _view(e: CalendarEvent) -> EventView:
    return EventView(id=e.id, date=e.day, name=e.name, created_at=e.created_at, created_by=e.created_by)


def _find(s: Session, day: date, name: str) -> CalendarEvent | None:
    return s.scalars(select(CalendarEvent).where(CalendarEvent.day == day, CalendarEvent.name == name)).first()


def list_events(ctx: ServiceContext, *, since: date | None = None, until: date | None = None) -> list[EventView]:
    """Events in ``[since, until]`` (either end open), by day then name."""
    q = select(CalendarEvent).order_by(CalendarEvent.day, CalendarEvent.name)
    if since is not None:
        q = q.where(CalendarEvent.day >= since)
    if until is not None:
        q = q.where(CalendarEvent.day <= until)
    with ctx.uow(read_only=True) as uow:
        return [_view(e) for e in uow.session.scalars(q)]


def add_event(ctx: ServiceContext, actor: Principal, day: date, name: str) -> Added:
    """Put ``name`` on ``day`` (audited ``calendar.add``); the pair already there is returned as it is."""
    with ctx.uow() as uow:
        s = uow.session
        found = _find(s, day, name)
        if found is not None:
            return Added(event=_view(found), created=False)
        event = CalendarEvent(day=day, name=name, created_by=actor.actor, created_at=ctx.clock())
        s.add(event)
        try:
            s.flush()
        except IntegrityError:  # another request added the same pair between our read and our write
            s.rollback()
            again = _find(s, day, name)
            if again is None:
                raise
            return Added(event=_view(again), created=False)
        record_action(s, actor.actor, "calendar.add", {"id": event.id, "date": day.isoformat(), "name": name})
        view = _view(event)
        uow.commit()
    return Added(event=view, created=True)


def remove_event(ctx: ServiceContext, actor: Principal, event_id: int) -> EventView:
    """Take an event off the calendar (audited ``calendar.remove``); the removed event is returned."""
    with ctx.uow() as uow:
        s = uow.session
        event = s.get(CalendarEvent, event_id)
        if event is None:
            raise NotFound(f"no calendar event {event_id}", field="event_id", event_id=event_id)
        view = _view(event)
        s.delete(event)
        record_action(
            s, actor.actor, "calendar.remove", {"id": event_id, "date": view.date.isoformat(), "name": view.name}
        )
        uow.commit()
    return view


def events_between(s: Session, since: date, until: date) -> Mapping[date, frozenset[str]]:
    """The calendar as the forecast takes it: day -> names, for days in ``[since, until)``."""
    out: dict[date, set[str]] = {}
    q = select(CalendarEvent.day, CalendarEvent.name).where(CalendarEvent.day >= since, CalendarEvent.day < until)
    for day, name in s.execute(q):
        out.setdefault(day, set()).add(name)
    return {d: frozenset(names) for d, names in out.items()}
