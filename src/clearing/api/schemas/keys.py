"""API key listings, rotation and revocation."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from clearing.api.schemas.common import JsonInt, OutSchema, Schema
from clearing.services.keys import MAX_OVERLAP_SECONDS


class ApiKeyOut(OutSchema):
    id: int
    prefix: str = Field(description="First characters of the key (the key itself is never shown again)")
    role: str = Field(examples=["member"])
    member: str | None = None
    label: str
    created_at: datetime
    expires_at: datetime | None = Field(default=None, description="End of a rotation's overlap")
    revoked_at: datetime | None = None
    last_used_at: datetime | None = Field(default=None, description="Last authenticated request, to about a minute")
    active: bool


class RotateIn(Schema):
    overlap_seconds: JsonInt = Field(
        default=3600,
        ge=0,
        le=MAX_OVERLAP_SECONDS,
        description="How long the old key keeps working, so clients can switch; 0 revokes it now",
    )
    label: str | None = Field(default=None, max_length=128, description="Default: the old key's label")


class RotatedOut(OutSchema):
    api_key: str = Field(description="The new key; shown once, only its hash is stored")
    new: ApiKeyOut
    old: ApiKeyOut
