"""Webhook endpoints: members (their own) and the operator (every endpoint; its own receive every event)."""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from clearing.api.deps import ContextDep, MemberOrOperator
from clearing.api.schemas.common import problem_responses
from clearing.api.schemas.webhooks import DeliveryOut, WebhookIn, WebhookOut, WebhookSecretOut
from clearing.services.webhooks import endpoints as svc

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

EndpointId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The endpoint's id")]
DeliveryId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The delivery's id, as the log shows it")]


def _with_secret(view: svc.EndpointView, secret: str) -> WebhookSecretOut:
    return WebhookSecretOut(**dataclasses.asdict(view), secret=secret)


@router.post(
    "",
    response_model=WebhookSecretOut,
    status_code=status.HTTP_201_CREATED,
    summary="Register an endpoint for some event types (or `*`); its secret is shown only now",
    responses=problem_responses(401, 403, 422),
)
def register(body: WebhookIn, ctx: ContextDep, who: MemberOrOperator) -> WebhookSecretOut:
    return _with_secret(*svc.register(ctx, who, url=body.url, events=list(body.events)))


@router.get(
    "",
    response_model=list[WebhookOut],
    summary="Your endpoints (operator: every endpoint; `mine=true`: the operator's own)",
    responses=problem_responses(401, 403, 422),
)
def list_endpoints(ctx: ContextDep, who: MemberOrOperator, mine: bool = Query(False)) -> list[WebhookOut]:
    return [WebhookOut.model_validate(v) for v in svc.list_endpoints(ctx, who, mine=mine)]


@router.delete(
    "/{endpoint_id}",
    response_model=WebhookOut,
    summary="Delete an endpoint: nothing more is sent to it (pending deliveries fail)",
    responses=problem_responses(401, 403, 404, 422),
)
def delete(endpoint_id: EndpointId, ctx: ContextDep, who: MemberOrOperator) -> WebhookOut:
    return WebhookOut.model_validate(svc.delete(ctx, who, endpoint_id))


@router.post(
    "/{endpoint_id}/rotate-secret",
    response_model=WebhookSecretOut,
    summary="A new secret; for CLEARING_WEBHOOKS__SECRET_OVERLAP_SECONDS deliveries carry both signatures",
    responses=problem_responses(401, 403, 404, 422),
)
def rotate_secret(endpoint_id: EndpointId, ctx: ContextDep, who: MemberOrOperator) -> WebhookSecretOut:
    return _with_secret(*svc.rotate_secret(ctx, who, endpoint_id))


@router.get(
    "/{endpoint_id}/deliveries",
    response_model=list[DeliveryOut],
    summary="The endpoint's delivery log, newest first, each delivery with its attempts",
    responses=problem_responses(401, 403, 404, 422),
)
def deliveries(
    endpoint_id: EndpointId, ctx: ContextDep, who: MemberOrOperator, limit: int = Query(100, ge=1, le=1000)
) -> list[DeliveryOut]:
    return [DeliveryOut.model_validate(d) for d in svc.deliveries(ctx, who, endpoint_id, limit=limit)]


@router.post(
    "/{endpoint_id}/deliveries/{delivery_id}/redeliver",
    response_model=DeliveryOut,
    summary="Send a delivery again now, under the same `webhook-id`",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def redeliver(endpoint_id: EndpointId, delivery_id: DeliveryId, ctx: ContextDep, who: MemberOrOperator) -> DeliveryOut:
    return DeliveryOut.model_validate(svc.redeliver(ctx, who, endpoint_id, delivery_id))
