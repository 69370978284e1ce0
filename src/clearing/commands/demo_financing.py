"""`clearing demo`'s financed receivable: a creditor takes an advance from the pool on its credit pending in a
committed cycle, then the cycle releases and the pool is repaid first (``services/financing.py``).

cardhub sells to topupnow; the operator commits the cycle into escrow to release it later; cardhub does not
wait: it takes an advance (its credit less the haircut for topupnow's tier and the discount for the days to
release). At release its credit repays the pool principal + fee first and only the rest reaches its balance.
The demo exits 1 if the story does not end so (the advance open, then repaid to the pool in full).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from clearing.services.context import ServiceContext
from clearing.services.keys import Principal

CREDITOR, DEBTOR = "cardhub", "topupnow"
AMOUNT = 120_000_000


def run(ctx: ServiceContext, principals: dict[str, Principal], say: Callable[[str], None]) -> dict[str, str]:
    """The financed receivable, told in a few lines; what it came to (amounts as decimal strings)."""
    from clearing.domain.vocabulary import Role
    from clearing.errors import ClearingError
    from clearing.services import financing, financing_views, releases
    from clearing.services.submission import ObligationInput, submit

    c, cycles = ctx.contracts, ctx.cycles
    assert c is not None and cycles is not None
    operator = Principal(role=Role.OPERATOR, key_id=None)
    creditor = principals[CREDITOR]
    assert creditor.member_address is not None
    submit(
        ctx,
        principals[DEBTOR],
        [ObligationInput("demo-financed-1", DEBTOR, CREDITOR, AMOUNT, "financed order")],
        batch=False,
    )
    cycle_id = cycles.open().id
    view = releases.commit(ctx, operator, cycle_id)
    pending = c.house.pending_credit(cycle_id, creditor.member_address)
    say(f"financing: cycle {cycle_id} {view.state} into escrow; {CREDITOR} has {pending} pending in it")
    try:
        q = financing.quote_for(ctx, creditor, cycle_id)
        adv = financing.request(ctx, creditor, "demo-advance-1", cycle_id)
    except ClearingError as exc:
        say(f"FINANCING STORY FAILED: {exc.message}")
        sys.exit(1)
    say(
        f"financing: {CREDITOR} took {adv.principal} now on {q.receivable} (debtor tier {q.debtor_tier}, haircut "
        f"{q.haircut_bps} bps, {q.days} day(s) at {q.rate_bps} bps: fee {adv.fee}); advance {adv.status}"
    )
    before, pool = c.house.balance_of(creditor.member_address), c.house.pool_total()
    releases.release(ctx, operator, cycle_id)
    [after] = financing_views.list_advances(ctx, creditor, cycle_id=cycle_id)
    reached = c.house.balance_of(creditor.member_address) - before
    say(
        f"financing: cycle {cycle_id} released: the pool was repaid {after.repaid_principal} + {after.repaid_fee} "
        f"first (pool {pool} -> {c.house.pool_total()}), {reached} reached {CREDITOR}; advance {after.status}"
    )
    if after.status != financing_views.REPAID or c.house.advance_of(cycle_id, creditor.member_address) != (0, 0):
        say(f"FINANCING STORY FAILED: the advance is {after.status} after the release")
        sys.exit(1)
    return {"cycle": str(cycle_id), "advance": str(adv.principal), "fee": str(adv.fee), "status": after.status}
