"""Credit: the score and why, the line and its formula, history, tier migrations, overrides."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, Field

from clearing.api.schemas.common import AmountOut, LimitIn, OutSchema, Schema


class FactorOut(OutSchema):
    name: str = Field(examples=["on-time"])
    value: AmountOut = Field(description="The factor's raw value: units, basis points, days or a count")
    points: int = Field(description="Its contribution to the score (negative for deductions)", examples=[297])
    rule: str = Field(description="The rule that gives these points")


class ImprovementOut(OutSchema):
    factor: str
    action: str = Field(examples=["settle the next 10 obligations in their first cycle"])
    points: int = Field(description="Points it would add, computed by re-scoring", examples=[12])


class DrawOut(OutSchema):
    id: int
    amount: AmountOut
    outstanding: AmountOut
    drawn_at: datetime
    due_at: datetime
    repaid_at: datetime | None = None
    status: str = Field(description="open or repaid", examples=["open"])
    overdue: bool = Field(description="Open past its deadline: counted as a default")


class LineOut(OutSchema):
    amount: AmountOut = Field(description="The credit line that applies (headroom uses it)")
    formula: str = Field(examples=["30% × average monthly volume of the last 3 months (1000000) = 300000"])
    cap: AmountOut = Field(description="30% of the average monthly volume: the most an earned line may be")
    average_monthly_volume: AmountOut
    months: int = Field(description="Months (30-day windows) averaged")
    chain_limit: AmountOut = Field(description="The limit on chain: max(line, drawn)")
    drawn: AmountOut = Field(description="Credit drawn now: max(0, −balance)")
    frozen: bool = Field(description="The line is below what is drawn: no new credit until it is repaid")
    draws: list[DrawOut]


class OverrideOut(OutSchema):
    id: int
    member: str
    tier: str | None = None
    credit_line: AmountOut | None = None
    above_cap: bool
    reason: str
    actor: str
    created_at: datetime
    expires_at: datetime
    ended_at: datetime | None = None
    ended_by: str | None = None
    end_reason: str | None = None
    active: bool


class HistoryOut(OutSchema):
    id: int
    computed_at: datetime
    trigger: str = Field(description="schedule, cycle, admission, override or manual", examples=["cycle"])
    score: int
    score_tier: str
    tier: str
    tier_from: str | None = Field(default=None, description="The tier before, when this assessment changed it")
    credit_line: AmountOut
    chain_limit: AmountOut
    source: str = Field(description="What set the tier: score, provisional or override", examples=["score"])
    changed: list[str] = Field(description="What changed against the assessment before", examples=[["score"]])
    reasons: list[str]


class CreditOut(OutSchema):
    member: str
    score: int = Field(examples=[812])
    tier: str = Field(examples=["A"])
    score_tier: str = Field(description="Where the score alone (with hysteresis) puts the member")
    source: str = Field(description="What set the tier: score, provisional or override", examples=["score"])
    provisional: bool = Field(description="A new member's provisional line, until the score confirms or withdraws it")
    pending_tier: str | None = Field(default=None, description="A higher tier being earned")
    qualifying_days: int = Field(
        description="Days the score has qualified for pending_tier (a promotion needs credit.promote_after_days)"
    )
    factors: list[FactorOut]
    reasons: list[str]
    improvements: list[ImprovementOut] = Field(description="What would raise the score, most points first")
    next_tier: str | None = Field(default=None, description="What the next tier up needs")
    line: LineOut
    override: OverrideOut | None = Field(default=None, description="The operator's pin in force, if any")
    history: list[HistoryOut] = Field(description="What changed, when and why; newest first")
    computed_at: datetime
    recorded: bool = Field(description="False: never scored yet, this assessment is fresh and not stored")


class ScoreOut(OutSchema):
    member: str
    score: int
    tier: str
    score_tier: str
    credit_line: AmountOut
    chain_limit: AmountOut
    source: str
    provisional: bool
    override: bool
    computed_at: datetime


class MigrationOut(OutSchema):
    id: int
    member: str
    from_tier: str
    to_tier: str
    score: int
    trigger: str
    reasons: list[str]
    computed_at: datetime


class RescoreOut(OutSchema):
    members: int
    recorded: int = Field(description="Members whose score, tier, line or state changed (a history row each)")
    line_changes: int
    chain_updates: int = Field(description="Credit limits sent to the chain (through the outbox)")
    migrations: list[MigrationSummaryOut]


class MigrationSummaryOut(OutSchema):
    member: str
    from_tier: str
    to_tier: str


class OverrideIn(Schema):
    reason: str = Field(min_length=1, max_length=512, examples=["seasonal sale, reviewed by risk"])
    # strict=False: JSON has no datetime type, so an RFC 3339 string is the only way to send one
    expires_at: AwareDatetime = Field(
        strict=False,
        description="When the pin stops applying (RFC 3339 with a zone); at most credit.override_max_days ahead",
    )
    tier: str | None = Field(default=None, pattern=r"^[ABC]$")
    credit_line: LimitIn | None = None
    above_cap: bool = Field(
        default=False,
        description="Let the pinned line exceed the member's cap (30% of average monthly volume); said explicitly",
    )


class RescoreIn(Schema):
    member: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$",
        description="One member (default: all)",
    )


RescoreOut.model_rebuild()
