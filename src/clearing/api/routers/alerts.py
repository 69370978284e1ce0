"""Alerts: members read and acknowledge their own; operators read all, resolve, evaluate, set thresholds."""

from __future__ import annotations

from fastapi import APIRouter, Query

from clearing.api.deps import Auditor, ContextDep, CurrentMember, Operator, PrincipalDep
from clearing.api.schemas.alerts import (
    AlertKindName,
    AlertOut,
    AlertStateFilter,
    EvaluationOut,
    ResolveAlertIn,
    ThresholdsIn,
    ThresholdsOut,
)
from clearing.api.schemas.common import problem_responses
from clearing.api.schemas.text import MemberNameParam, RowId
from clearing.services import alerts

router = APIRouter(tags=["alerts"])

_STATE = Query("active", description="`active` (default): open or acknowledged; `all`: every state")
_MEMBER = Query(None, description="Only this member's")
_KIND = Query(None, description="Only this kind")
_LIMIT = Query(500, ge=1, le=1000, description="At most this many, newest first")


@router.get(
    "/members/me/alerts",
    response_model=list[AlertOut],
    summary="Your alerts (not resolved, unless asked), newest first",
    responses=problem_responses(401, 403),
)
def my_alerts(
    ctx: ContextDep, me: CurrentMember, state: AlertStateFilter = _STATE, limit: int = _LIMIT
) -> list[AlertOut]:
    return [AlertOut.model_validate(a) for a in alerts.list_alerts(ctx, me, state=state, limit=limit)]


@router.get(
    "/alerts",
    response_model=list[AlertOut],
    summary="Every alert, house-level ones included (operator, auditor), newest first",
    responses=problem_responses(401, 403),
)
def list_alerts(
    ctx: ContextDep,
    who: Auditor,
    state: AlertStateFilter = _STATE,
    member: MemberNameParam | None = _MEMBER,
    kind: AlertKindName | None = _KIND,
    limit: int = _LIMIT,
) -> list[AlertOut]:
    rows = alerts.list_alerts(ctx, who, state=state, member=member, kind=kind, limit=limit)
    return [AlertOut.model_validate(a) for a in rows]


@router.post(
    "/alerts/{alert_id}/acknowledge",
    response_model=AlertOut,
    summary="Acknowledge an alert (its member, or an operator; audited)",
    description="Acknowledged, it stays until its condition clears or an operator resolves it. Again: the alert "
    "as it stands. A resolved alert is 409; someone else's is 404.",
    responses=problem_responses(401, 403, 404, 409),
)
def acknowledge(alert_id: RowId, ctx: ContextDep, who: PrincipalDep) -> AlertOut:
    return AlertOut.model_validate(alerts.acknowledge(ctx, who, alert_id))


@router.post(
    "/alerts/{alert_id}/resolve",
    response_model=AlertOut,
    summary="Resolve an alert by hand, with a reason (operator, audited)",
    description="Again: the alert as it stands. Should its condition still hold, the next evaluation opens a "
    "new alert.",
    responses=problem_responses(401, 403, 404, 422),
)
def resolve(alert_id: RowId, body: ResolveAlertIn, ctx: ContextDep, op: Operator) -> AlertOut:
    return AlertOut.model_validate(alerts.resolve(ctx, op, alert_id, reason=body.reason))


@router.post(
    "/alerts/evaluate",
    response_model=EvaluationOut,
    summary="Evaluate every alert rule now (operator, audited); the scheduler does it every few minutes",
    responses=problem_responses(401, 403),
)
def evaluate(ctx: ContextDep, op: Operator) -> EvaluationOut:
    return EvaluationOut.model_validate(alerts.run(ctx, op))


@router.get(
    "/members/me/alert-thresholds",
    response_model=ThresholdsOut,
    summary="Your alert thresholds and where each comes from: your tier, or an operator's override and why",
    responses=problem_responses(401, 403),
)
def my_thresholds(ctx: ContextDep, me: CurrentMember) -> ThresholdsOut:
    return ThresholdsOut.model_validate(alerts.own_thresholds(ctx, me))


@router.get(
    "/members/{name}/alert-thresholds",
    response_model=ThresholdsOut,
    summary="A member's alert thresholds and where each comes from: its tier, or its own override (operator)",
    responses=problem_responses(401, 403, 404),
)
def thresholds(name: MemberNameParam, ctx: ContextDep, op: Operator) -> ThresholdsOut:
    return ThresholdsOut.model_validate(alerts.thresholds_of(ctx, name))


@router.put(
    "/members/{name}/alert-thresholds",
    response_model=ThresholdsOut,
    summary="Override a member's alert thresholds, by kind (operator, audited)",
    description="The body maps an alert kind to its value (with a `reason`); a kind left out keeps what it has, "
    "`null` removes the override (the tier's value applies again). They apply from the next evaluation.",
    responses=problem_responses(401, 403, 404, 422),
)
def set_thresholds(name: MemberNameParam, body: ThresholdsIn, ctx: ContextDep, op: Operator) -> ThresholdsOut:
    values = {k: getattr(body, k) for k in body.model_fields_set - {"reason"}}
    return ThresholdsOut.model_validate(alerts.set_thresholds(ctx, op, name, values, reason=body.reason))
