"""Webhook endpoints, their secrets and their delivery log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from clearing.api.schemas.common import OutSchema, Schema
from clearing.domain.vocabulary import EVENT_TYPES, WILDCARD_EVENT

_KNOWN = [WILDCARD_EVENT, *EVENT_TYPES]
_EVENTS = ", ".join(f"`{e}`" for e in _KNOWN)


class WebhookIn(Schema):
    url: str = Field(
        min_length=1,
        max_length=2048,
        description="http(s) URL the house POSTs events to; private, loopback, link-local, multicast and "
        "reserved addresses are refused (also for every address a hostname resolves to)",
        examples=["https://hooks.example.com/clearing"],
    )
    events: list[Annotated[str, Field(min_length=1, max_length=64, json_schema_extra={"enum": _KNOWN})]] = Field(
        min_length=1, max_length=64, description=f"Event types, or `*` for all: {_EVENTS}", examples=[["*"]]
    )


class WebhookOut(OutSchema):
    id: int
    url: str
    events: list[str]
    owner: str = Field(description="The owning member's name, or `operator`")
    enabled: bool
    disabled_reason: str | None = Field(default=None, description="Why the house stopped delivering to it")
    created_at: datetime
    previous_secret_until: datetime | None = Field(
        default=None, description="After a rotation: until then deliveries are signed with the old secret too"
    )


class WebhookSecretOut(WebhookOut):
    secret: str = Field(
        description="`whsec_` + base64: verify deliveries with it (Standard Webhooks); shown only now",
        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    )


class AttemptOut(OutSchema):
    at: datetime
    status_code: int | None = Field(default=None, description="The receiver's answer; null: none (see error)")
    error: str | None = None
    duration_ms: int


class DeliveryOut(OutSchema):
    id: int
    message_id: str = Field(description="The `webhook-id` header: the same on every attempt and redelivery")
    event_type: str
    state: str = Field(description="pending, delivered or failed", examples=["delivered"])
    attempts: int
    next_attempt_at: datetime | None = Field(default=None, description="Pending only: when it is tried next")
    created_at: datetime
    delivered_at: datetime | None = None
    attempt_log: list[AttemptOut]
