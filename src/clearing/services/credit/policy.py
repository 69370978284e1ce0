"""The credit policy of a running house, from its settings (``CLEARING_CREDIT__*``)."""

from __future__ import annotations

from dataclasses import dataclass

from clearing.domain.credit import CreditConfig
from clearing.domain.tiering import TieringConfig, TierPolicy
from clearing.settings import CreditSettings, Settings, TierPolicySettings

#: Who the audit log and the history name for what the house does by itself.
SYSTEM = "system:credit"
#: What ran an assessment (``credit_scores.trigger``).
TRIGGERS = ("schedule", "cycle", "admission", "override", "manual", "default")


@dataclass(frozen=True)
class CreditPolicy:
    tiering: TieringConfig
    score: CreditConfig
    #: Months (30-day windows) of history for volume and the line's average.
    months: int
    override_max_days: int
    override_default_days: int


def _tier(p: TierPolicySettings) -> TierPolicy:
    return TierPolicy(line_bps=p.line_bps, line_cap=p.line_cap, repayment_days=p.repayment_days)


def policy_of(settings: Settings) -> CreditPolicy:
    """The policy in ``settings``, validated (an inconsistent table is an ``InvalidConfig`` naming the field)."""
    c: CreditSettings = settings.credit
    tiering = TieringConfig(
        policies={"A": _tier(c.tier_a), "B": _tier(c.tier_b), "C": _tier(c.tier_c)},
        promote_margin=c.promote_margin,
        demote_margin=c.demote_margin,
        promote_after_days=c.promote_after_days,
        provisional_tier=c.provisional_tier,
        provisional_days=c.provisional_days,
        provisional_line_cap=c.provisional_line_cap,
        provisional_collateral_bps=c.provisional_collateral_bps,
    )
    tiering.validate()
    score = tiering.credit_config()
    score.validate()
    return CreditPolicy(
        tiering=tiering,
        score=score,
        months=c.months,
        override_max_days=c.override_max_days,
        override_default_days=c.override_default_days,
    )
