"""The credit part of `clearing demo`: seven months of history through the house's own code paths.

The demo's house runs on a clock the demo moves (``build_service(clock=...)``): obligations,
drawings of credit and admissions are dated by it, cycles settle on the in-process chain, and
every settled cycle rescores credit, exactly as a running server would. Two members show issue 9:

- ``lootbox`` trades about 1.8M tokens a month and settles every cycle on time: provisional at
  admission, confirmed by its score, then tier A once 180 days old, with a line of 30% of its
  average monthly volume of the last 3 months, set on chain through the outbox;
- ``gemshop`` draws 5,000 of its provisional line and never repays it: its 7-day deadline and the
  3-day grace period past, the scan (as the scheduler runs it) declares it in default: suspended, the
  waterfall runs on chain (no collateral left, no pledges, no receivables: the pool's lenders bear
  the 5,000, their share price written down), tier C with no line and no limit on chain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the CLI starts fast: the service is imported when the demo runs
    from clearing.services.context import ServiceContext
    from clearing.services.defaults import DefaultView
    from clearing.services.keys import Principal

TOK = 10**6
#: How far back the story starts.
HISTORY_DAYS = 210
STORY = [
    # name, dev account index (after the platforms' 1-6 and the lender's 9), collateral (token units)
    ("lootbox", 10, 3_000_000 * TOK),
    ("arcadia", 11, 3_000_000 * TOK),
    ("gemshop", 12, 20_000 * TOK),
]
#: Dev accounts the demo's chain funds (the forecast story's member is account 13).
ACCOUNTS = 14
#: Days (after the story's start) on which members trade and a cycle settles; the rescoring days.
TRADE_DAYS = (5, 35, 65, 95, 125, 155, 185)
RESCORE_DAYS = (20, 200)


class DemoClock:
    """The house's clock: the story moves it; ``now`` returns to the present at the end."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Story:
    ok: bool
    summary: dict[str, Any]


def start_clock() -> DemoClock:
    return DemoClock(datetime.now(UTC) - timedelta(days=HISTORY_DAYS))


def run(ctx: ServiceContext, clock: DemoClock, say: Callable[[str], None]) -> Story:
    """Seven months of history for the story's members; leaves the clock at the present."""
    from clearing.commands import demo_forecast
    from clearing.dev import admit_funded_member
    from clearing.domain.vocabulary import Role
    from clearing.services import chain_sync, credit, defaults
    from clearing.services.keys import Principal

    c = ctx.contracts
    assert c is not None and ctx.cycles is not None
    start = clock.now
    operator = Principal(role=Role.OPERATOR, key_id=None)
    who: dict[str, Principal] = {}
    for name, index, collateral in (*STORY, demo_forecast.MEMBER):
        who[name] = admit_funded_member(ctx, c, operator, c.chain.accounts[index], name=name, collateral=collateral)
    chain_sync.sync(ctx.sessions, c)
    credit.rescore(ctx, trigger="schedule")
    chain_sync.sync(ctx.sessions, c)
    say(f"credit story starts {HISTORY_DAYS} days ago: {', '.join(n for n, *_ in STORY)} admitted, provisional")
    for day in sorted({*TRADE_DAYS, *RESCORE_DAYS, *demo_forecast.TRADE_DAYS}):
        clock.now = start + timedelta(days=day)
        if day in demo_forecast.TRADE_DAYS:  # the forecast story's daily trade (its cycle settles today)
            demo_forecast.trade(ctx, who, day)
            if day not in (*TRADE_DAYS, *RESCORE_DAYS):
                continue
        if day in TRADE_DAYS:
            _trade(ctx, who, day)
            clock.now += timedelta(hours=1)  # the cycle cuts off an hour after the trades: its rescoring sees them
            ctx.cycles.settle()  # rescores credit after it
        else:
            credit.rescore(ctx, trigger="schedule")
        chain_sync.sync(ctx.sessions, c)  # the limits the rescoring sent reach the mirror
        say(f"day {day}: " + ", ".join(_line(ctx, name) for name in ("lootbox", "gemshop")))
        for d in defaults.scan(ctx):  # what the scheduler runs after rescoring
            _say_default(ctx, d, say)
    clock.now = start + timedelta(days=HISTORY_DAYS)
    return _outcome(ctx)


def _say_default(ctx: ServiceContext, d: DefaultView, say: Callable[[str], None]) -> None:
    """The waterfall of a default the scan declared, step by step as the chain's events say it, and the lenders'
    write-down."""
    assert ctx.contracts is not None
    say(f"{d.member} declared in default ({d.trigger}): {d.reason}")
    steps = ", ".join(f"{k.replace('_', ' ')} {v // TOK}" for k, v in d.steps.items())
    pool = ctx.contracts.house.pool_total()
    say(
        f"waterfall on chain (tx {(d.allocate_tx or '')[:12]}…): loss {(d.loss or 0) // TOK} covered by {steps}; "
        f"the lenders' pool written down by {(d.written_down or 0) // TOK} to {pool // TOK}"
    )


def _trade(ctx: ServiceContext, who: dict[str, Principal], day: int) -> None:
    from clearing.services.submission import ObligationInput, submit

    def items(debtor: str, creditor: str) -> list[ObligationInput]:
        first = ObligationInput(f"story-{day}-{debtor}-0", debtor, creditor, 1_000 * TOK, "first order")
        rest = [ObligationInput(f"story-{day}-{debtor}-{k}", debtor, creditor, 60_000 * TOK) for k in range(1, 15)]
        return (
            [first, *rest]
            if day == TRADE_DAYS[0]
            else [*rest, ObligationInput(first.id, debtor, creditor, 60_000 * TOK)]
        )

    submit(ctx, who["lootbox"], items("lootbox", "arcadia"), batch=True)
    submit(ctx, who["arcadia"], items("arcadia", "lootbox"), batch=True)
    if day == TRADE_DAYS[0]:  # gemshop pays 25,000 with 20,000 of collateral: it draws 5,000 of credit
        gem = [
            ObligationInput("story-gem-1", "gemshop", "arcadia", 1_000 * TOK),
            ObligationInput("story-gem-2", "gemshop", "arcadia", 24_000 * TOK),
        ]
        submit(ctx, who["gemshop"], gem, batch=True)


def _line(ctx: ServiceContext, name: str) -> str:
    from clearing.services import credit

    v = credit.credit_of(ctx, credit.member_id_of(ctx, name))
    frozen = ", frozen at the debt" if v.line.frozen else ""
    return f"{name} tier {v.tier} (score {v.score}) line {v.line.amount // TOK}{frozen}"


def _outcome(ctx: ServiceContext) -> Story:
    from clearing.domain.vocabulary import Role
    from clearing.services import credit, defaults
    from clearing.services.keys import Principal

    assert ctx.contracts is not None
    out: dict[str, Any] = {}
    for name in ("lootbox", "gemshop"):
        v = credit.credit_of(ctx, credit.member_id_of(ctx, name))
        address = ctx.contracts.house.member(_address(ctx, name))
        out[name] = {
            "tier": v.tier,
            "score": v.score,
            "credit_line": str(v.line.amount),
            "formula": v.line.formula,
            "chain_limit": str(address.credit_limit),
            "drawn": str(v.line.drawn),
            "why": v.reasons[0],
            "migrations": [
                f"{m.from_tier}→{m.to_tier} ({m.trigger})" for m in reversed(credit.migrations(ctx, member=name))
            ],
        }
    d = defaults.of_member(ctx, Principal(role=Role.OPERATOR, key_id=None), "gemshop")
    out["gemshop"]["default"] = {
        "trigger": d.trigger,
        "state": d.state,
        "declared_at": d.declared_at.isoformat(),
        "loss": str(d.loss),
        "steps": {k: str(v) for k, v in d.steps.items()},
        "written_down": str(d.written_down),
        "allocate_tx": d.allocate_tx,
    }
    loot, gem = out["lootbox"], out["gemshop"]
    ok = (
        loot["tier"] == "A"
        and int(loot["credit_line"]) > 0
        and loot["chain_limit"] == loot["credit_line"]
        and gem["tier"] == "C"
        and gem["credit_line"] == "0"
        # Defaulted: the waterfall ran on chain and the lenders bore the debt; nothing is drawn any more.
        and (d.trigger, d.state) == ("repayment_deadline", "allocated")
        and list(d.steps) == ["collateral", "pledged_assets", "receivables", "pool_lenders"]
        and d.written_down == d.steps["pool_lenders"] == d.loss
        and (d.loss or 0) >= 5_000 * TOK
        and gem["chain_limit"] == gem["drawn"] == "0"
    )
    return Story(ok=ok, summary=out)


def _address(ctx: ServiceContext, name: str) -> str:
    from clearing.services import members

    return members.get(ctx, name).address
