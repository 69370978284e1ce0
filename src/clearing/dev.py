"""Development and test helpers for local chains: playing a member's own wallet.

Kept apart from the composition root: a real house never moves a member's
funds, but on a dev chain a demo, a bench or a test must deposit collateral
as the member would, from the member's own key.
"""

from __future__ import annotations

from eth_account.signers.local import LocalAccount

from clearing.adapters.chain.deploy import Contracts
from clearing.domain.vocabulary import Role
from clearing.services import members
from clearing.services.context import ServiceContext
from clearing.services.keys import Principal


def admit_funded_member(
    ctx: ServiceContext,
    contracts: Contracts,
    operator: Principal,
    account: LocalAccount,
    *,
    name: str,
    collateral: int,
    tier: str | None = None,
    credit_line: int | None = None,
    tier_reasons: list[str] | None = None,
) -> Principal:
    """Admit a member through the service (on chain too), post its collateral from its own key; its principal.

    ``tier`` pins a tier for the provisional period and ``credit_line`` bounds the provisional line
    (``members.admit``); tiers and lines otherwise follow the credit score.
    """
    admitted = members.admit(
        ctx, operator, name=name, address=account.address, tier=tier, credit_line=credit_line, tier_reasons=tier_reasons
    )
    if collateral:
        contracts.fund_member(account, collateral)
    return Principal(
        role=Role.MEMBER, key_id=None, member_id=admitted.member.id, member_name=name, member_address=account.address
    )
