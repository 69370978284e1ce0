"""The event calendar forecasts learn from: operators add and remove named days; every key reads them."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from clearing.api.deps import ContextDep, Operator, PrincipalDep
from clearing.api.schemas.common import problem_responses
from clearing.api.schemas.forecasts import EventIn, EventOut
from clearing.api.schemas.text import RowId
from clearing.services import calendar

router = APIRouter(prefix="/calendar", tags=["forecasts"])


@router.get(
    "/events",
    response_model=list[EventOut],
    summary="The event calendar, by day (any key)",
    responses=problem_responses(401),
)
def list_events(ctx: ContextDep, who: PrincipalDep) -> list[EventOut]:
    return [EventOut.model_validate(e) for e in calendar.list_events(ctx)]


@router.post(
    "/events",
    response_model=EventOut,
    status_code=status.HTTP_201_CREATED,
    summary="Put a named event on a day (operator, audited); the same pair again answers 200 with it",
    description="Forecasts treat each name as one kind of day (a sale, a payday) and learn its effect from "
    "the days it fell on before. Idempotent: the same date and name again creates nothing and answers 200.",
    responses={200: {"model": EventOut, "description": "Already on the calendar"}, **problem_responses(401, 403, 422)},
)
def add_event(body: EventIn, response: Response, ctx: ContextDep, op: Operator) -> EventOut:
    added = calendar.add_event(ctx, op, body.date, body.name)
    if not added.created:
        response.status_code = status.HTTP_200_OK
    return EventOut.model_validate(added.event)


@router.delete(
    "/events/{event_id}",
    response_model=EventOut,
    summary="Take an event off the calendar (operator, audited); answers the removed event",
    responses=problem_responses(401, 403, 404, 422),
)
def remove_event(event_id: RowId, ctx: ContextDep, op: Operator) -> EventOut:
    return EventOut.model_validate(calendar.remove_event(ctx, op, event_id))
