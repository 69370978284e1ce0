"""Alerts: what the rules found (open, acknowledged, resolved) and each member's thresholds."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from clearing.api.schemas.common import OutSchema, Schema
from clearing.api.schemas.disputes import Reason
from clearing.domain.alerts import BOUNDS, AlertKind

KINDS = [k.value for k in AlertKind]
AlertKindName = Literal[
    "headroom_low",
    "projected_shortfall",
    "obligations_carried",
    "hold_open_too_long",
    "credit_utilisation_high",
    "writer_stuck",
    "webhook_disabled",
    "cover2_uncovered",
    "member_defaulted",
    "liquidator_short",
]
AlertStateFilter = Literal["active", "open", "acknowledged", "resolved", "all"]


class AlertOut(OutSchema):
    id: int
    member: str | None = Field(description="The member it concerns; null for house-level alerts (the operator's)")
    kind: AlertKindName
    dedup_key: str = Field(
        description="With member and kind, identifies the condition: `hold:<id>` for a hold, else the kind",
        examples=["hold:42"],
    )
    state: Literal["open", "acknowledged", "resolved"]
    severity: Literal["warning", "critical"]
    message: str = Field(examples=["headroom 99 is below 1 day(s) of typical outflow (100/day = 100)"])
    data: dict[str, Any] = Field(description="The numbers behind the message (amounts as decimal strings)")
    opened_at: datetime
    updated_at: datetime = Field(description="When its numbers last changed (or its state)")
    acknowledged_at: datetime | None
    acknowledged_by: str | None = Field(examples=["member:alpha-games"])
    resolved_at: datetime | None
    resolved_by: str | None = Field(description="`system` when its condition cleared, else the operator")
    resolve_reason: str | None


class ResolveAlertIn(Schema):
    reason: Reason = Field(examples=["collateral topped up by phone; confirmed"])


class EvaluationOut(OutSchema):
    opened: int
    resolved: int
    updated: int = Field(description="Alerts whose condition still holds and whose numbers changed")


def _whole(value: Any) -> Any:
    """A JSON number with no fraction (3922.0) is the integer it names, as JSON Schema says (like ``JsonInt``)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


# The bounds of domain/alerts.py's BOUNDS. They come before the validator: after it, a bound on an optional
# field would reach the OpenAPI document as ge/le instead of minimum/maximum.
Days = Annotated[int, Field(ge=0, le=BOUNDS["headroom_low"][1]), BeforeValidator(_whole)]
Count = Annotated[int, Field(ge=0, le=BOUNDS["obligations_carried"][1]), BeforeValidator(_whole)]
Hours = Annotated[int, Field(ge=0, le=BOUNDS["hold_open_too_long"][1]), BeforeValidator(_whole)]
Bps = Annotated[int, Field(ge=0, le=BOUNDS["credit_utilisation_high"][1]), BeforeValidator(_whole)]
_NULL = "; null removes the override (the tier's applies)"


class ThresholdsIn(Schema):
    """Alert kind → its threshold for this member; a kind left out keeps what it has, null goes back to the
    tier's value."""

    reason: Reason = Field(examples=["seasonal sale: expect carried obligations"])
    headroom_low: Days | None = Field(None, description="Days of typical outflow headroom must cover" + _NULL)
    projected_shortfall: Days | None = Field(None, description="Alert when a shortfall is this many days away" + _NULL)
    obligations_carried: Count | None = Field(None, description="Most obligations carried before alerting" + _NULL)
    hold_open_too_long: Hours | None = Field(None, description="Hours a hold may stay open" + _NULL)
    credit_utilisation_high: Bps | None = Field(None, description="Share of the line drawn, in bps" + _NULL)


class ThresholdOut(OutSchema):
    kind: str = Field(examples=["obligations_carried"])
    threshold: str = Field(description="The threshold's name in CLEARING_ALERTS__TIER_*", examples=["carried_max"])
    value: int
    source: Literal["tier", "override"]
    tier_value: int = Field(description="The member's tier's value (what applies without an override)")
    reason: str | None = None
    set_by: str | None = None
    set_at: datetime | None = None


class ThresholdsOut(OutSchema):
    member: str
    tier: str
    thresholds: list[ThresholdOut]
