"""The forecast part of `clearing demo`: a month of daily trade, an event calendar, and a forecast on the ledger.

``flashmart`` joins with the credit story's members and, for its last 30 days, buys from ``arcadia`` every
day (about 9,000 tokens, and three times that on its weekly ``flash-sale`` days) while selling it 2,000:
its purchases wait in the open cycle, so its headroom shrinks day by day. At the end of the demo the
operator puts the past flash sales and the next one (in four days) on the calendar, the house forecasts
every member and the pool from the ledger, and the demo prints flashmart's shortfall date and top-up advice
and the liquidity the pool needs over the next 14 days at 95%.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the CLI starts fast: the service is imported when the demo runs
    from clearing.services.context import ServiceContext
    from clearing.services.keys import Principal

TOK = 10**6
#: name, dev account index, collateral (token units).
MEMBER = ("flashmart", 13, 330_000 * TOK)
#: Days of the credit story (``demo_credit.HISTORY_DAYS`` long) on which flashmart trades.
TRADE_DAYS = tuple(range(180, 210))
#: Story days of flashmart's past flash sales; the next is this many days after the story ends (today).
SALE_DAYS = (188, 195, 202, 209)
NEXT_SALE_IN = 4


def trade(ctx: ServiceContext, who: dict[str, Principal], day: int) -> None:
    """One day of flashmart's trade with arcadia, through the house's submission service."""
    from clearing.services.submission import ObligationInput, submit

    name = MEMBER[0]
    if day == TRADE_DAYS[0]:  # a small first order to a new counterparty, as platforms start
        submit(
            ctx,
            who[name],
            [ObligationInput(f"flash-{day}-first", name, "arcadia", 500 * TOK, "first order")],
            batch=False,
        )
    each = (27_000 if day in SALE_DAYS else 9_000 + 150 * (day % 5)) * TOK // 3
    buys = [ObligationInput(f"flash-{day}-{k}", name, "arcadia", each, "stock") for k in range(3)]
    submit(ctx, who[name], buys, batch=True)
    submit(
        ctx,
        who["arcadia"],
        [ObligationInput(f"flash-{day}-back", "arcadia", name, 2_000 * TOK, "returns")],
        batch=False,
    )


def show(ctx: ServiceContext, story_start: Any, say: Callable[[str], None]) -> dict[str, Any]:
    """Put the flash sales on the calendar, forecast every member and the pool, and say what came out."""
    from clearing.domain.vocabulary import Role
    from clearing.services import alerts, calendar, forecasts
    from clearing.services.keys import Principal

    operator = Principal(role=Role.OPERATOR, key_id=None)
    today = ctx.clock().date()
    days = [story_start.date() + timedelta(days=d) for d in SALE_DAYS] + [today + timedelta(days=NEXT_SALE_IN)]
    for day in days:
        calendar.add_event(ctx, operator, day, "flash-sale")
    result = forecasts.run(ctx, trigger="demo")
    mine = forecasts.of_name(ctx, MEMBER[0])
    pool = forecasts.pool(ctx)
    topup = mine.topup
    advice = "no top-up needed" if topup is None else f"top up {topup.amount // TOK} tokens by {topup.by}"
    say(
        f"forecast ({mine.model} v{mine.model_version}, {result.members} members, calendar: flash-sale on "
        f"{', '.join(d.isoformat() for d in days)}): {MEMBER[0]} headroom {(mine.balance or 0) // TOK}, "
        f"shortfall date {mine.shortfall_date or 'none in 14 days'}, {advice}; pool needs "
        f"{pool.needed_95 // TOK} of {pool.liquidity // TOK} at 95% over {pool.horizon} days (idle {pool.idle // TOK})"
    )
    alerts.run(ctx, operator)  # as the scheduler does right after a forecast run
    raised = alerts.list_alerts(ctx, operator, member=MEMBER[0])
    say(f"alerts for {MEMBER[0]}: " + ("; ".join(f"[{a.severity}] {a.kind}: {a.message}" for a in raised) or "none"))
    return {
        "alerts": [{"kind": a.kind, "severity": a.severity, "message": a.message} for a in raised],
        "member": MEMBER[0],
        "balance": str(mine.balance),
        "shortfall_date": None if mine.shortfall_date is None else mine.shortfall_date.isoformat(),
        "topup": None if topup is None else {"amount": str(topup.amount), "by": topup.by.isoformat()},
        "shortfalls": sorted(n for n, d in result.shortfalls.items() if d is not None),
        "pool": {"liquidity": str(pool.liquidity), "needed_95": str(pool.needed_95), "idle": str(pool.idle)},
        "model": mine.model,
        "model_version": mine.model_version,
        "data_version": mine.data_version,
    }
