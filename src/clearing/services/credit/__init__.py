"""Credit that members earn: an explainable score from the ledger sets each tier and line, on chain.

- ``inputs``: the score's inputs for many members, through ``adapters/db/credit_inputs`` (the one reading);
- ``draws``: drawings of credit and their repayment deadlines, followed from the balance mirror;
- ``rescore``: assess, apply (member rows, history, the chain's limit through the outbox);
- ``overrides``: operator pins with a reason and an expiry, audited;
- ``actions``: admission and overrides, each rescoring its member at once;
- ``views``: what members and operators read;
- ``policy``: the policy from settings (``CLEARING_CREDIT__*``).

The pure rules live in ``clearing.domain.credit`` (the score) and ``clearing.domain.tiering``
(hysteresis, tier policies, provisional lines, pins, caps).
"""

from clearing.services.credit.actions import admitted, end_override, override, pin_in, rescore_now
from clearing.services.credit.policy import SYSTEM, CreditPolicy, policy_of
from clearing.services.credit.rescore import RescoreResult, after_cycle, rescore
from clearing.services.credit.views import (
    CreditView,
    MigrationView,
    ScoreRow,
    credit_of,
    member_id_of,
    migrations,
    override_list,
    scores,
)

__all__ = [
    "SYSTEM",
    "CreditPolicy",
    "CreditView",
    "MigrationView",
    "RescoreResult",
    "ScoreRow",
    "admitted",
    "after_cycle",
    "credit_of",
    "end_override",
    "member_id_of",
    "migrations",
    "override",
    "override_list",
    "pin_in",
    "policy_of",
    "rescore",
    "rescore_now",
    "scores",
]
