"""``clearing simulate --full``: a small scenario through the whole service, next to the fast path.

The same generated world (``FULL_PLATFORMS`` platforms × ``FULL_DAYS`` days, ``FULL_ORDERS_PER_DAY`` orders
per platform a day, capital of ``FULL_CAPITAL_DAYS`` day of purchases so that headroom runs short) runs
twice: through the fast path (:func:`clearing.domain.simulation.house.run_clearing`, domain code only) and
through the service as in ``clearing demo``: a SQLite ledger, the embedded chain, each platform admitted
and posting its capital from its own key, a lender funding the pool, every order submitted through the
submission service in time order (one group commit per day), a real cycle closed, netted, committed and
released on chain every day (the service rescores every member after it), top-ups deposited from the
members' keys on the day they land.

An order the service queues beyond headroom is an interrupted order: its debtor disputes it and the
operator upholds the dispute, so it never settles (as the fast path drops it). Holds other than a
suspended member's are released by the operator before the cycle, as the fast path assumes. Then, per
order, the two paths must agree on completed vs interrupted, and per day on every member's net position.
The window is too short for the forecasts (day 28 on) and defaults: those are covered by the large run only.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

FULL_PLATFORMS = 5
FULL_DAYS = 10
FULL_ORDERS_PER_DAY = 10.0
#: Capital of one day's purchases, not seven: tight, so that the headroom check interrupts orders on both paths.
FULL_CAPITAL_DAYS = 1.0
#: Dev accounts: the deployer, the platforms, the lender.
_LENDER = FULL_PLATFORMS + 1


class _Clock:
    """The house's clock; the run moves it to each order's day."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def run_full(scenario: Any, seed: int, say: Any) -> dict[str, Any]:
    """Both paths on one small world; what each gave and whether they agree."""
    import numpy as np

    from clearing.domain.simulation import INTERRUPTED, generate
    from clearing.domain.simulation.house import run_clearing

    small = replace(scenario, orders_per_platform_day=FULL_ORDERS_PER_DAY, capital_days=FULL_CAPITAL_DAYS)
    world, demand = generate(small, platforms=FULL_PLATFORMS, days=FULL_DAYS, seed=seed)
    fast = run_clearing(world, demand, small)
    say(f"--full: {demand.orders} orders among {world.n} platforms over {world.days} days; fast path done")
    service = _service_run(world, demand, small, say)
    fast_bad = fast.status == INTERRUPTED
    slow_bad = np.array(service["interrupted"], dtype=bool)
    differ = [int(k) for k in np.flatnonzero(fast_bad != slow_bad)]
    fast_pos = [{n: int(v) for n, v in zip(world.names, fast.series["net"][d], strict=True)} for d in range(world.days)]
    slow_pos = service["positions"]
    pos_days = [d for d in range(world.days) if fast_pos[d] != slow_pos[d]]
    same = not differ and not pos_days
    summary = (
        f"{world.n} platforms × {world.days} days, {demand.orders} orders through the service (SQLite, embedded "
        f"chain, {service['cycles']} cycles released on chain, audit {'passed' if service['audit_ok'] else 'FAILED'}"
        f"): {int(slow_bad.sum())} interrupted there, {int(fast_bad.sum())} on the fast path; positions "
        f"{'equal' if not pos_days else 'different'} on every day."
    )
    say(f"--full: {summary}")
    return {
        "platforms": world.n,
        "days": world.days,
        "orders": demand.orders,
        "interrupted": {"service": int(slow_bad.sum()), "fast": int(fast_bad.sum())},
        "orders_that_differ": differ[:20],
        "days_positions_differ": pos_days,
        "positions_by_day": {"service": slow_pos, "fast": fast_pos},
        "holds_released": service["holds_released"],
        "audit_ok": service["audit_ok"],
        "same": same,
        "summary": summary,
        "wall_s": service["wall_s"],
    }


def _service_run(world: Any, demand: Any, scenario: Any, say: Any) -> dict[str, Any]:
    """The world through the whole service; per order interrupted or not, per day positions."""
    import time as clock_time

    from clearing.adapters.chain import backends
    from clearing.adapters.chain.deploy import Contracts, deploy
    from clearing.bootstrap import build_service
    from clearing.dev import admit_funded_member
    from clearing.domain.vocabulary import Role
    from clearing.services import audit, chain_sync, credit
    from clearing.services.keys import Principal
    from clearing.settings import ChainSettings, Settings

    t0 = clock_time.perf_counter()
    db = Path(tempfile.mkdtemp(prefix="clearing-sim-full-")) / "ledger.db"
    chain = backends.embedded(num_accounts=FULL_PLATFORMS + 2)
    start = datetime.combine(world.dates[0], time(), tzinfo=UTC)
    clock = _Clock(start)
    ctx = build_service(
        Settings(database_url=f"sqlite:///{db}", chain=ChainSettings(backend="embedded")),
        contracts=Contracts.attach(chain, deploy(chain, network="embedded")),
        migrate=True,
        clock=clock,
    )
    c = ctx.contracts
    assert c is not None and ctx.cycles is not None
    lender = c.chain.accounts[_LENDER]
    c.token.mint(lender.address, world.pool)
    c.token.approve(c.house.address, world.pool, sender=lender)
    c.house.pool_deposit(world.pool, sender=lender)
    operator = Principal(role=Role.OPERATOR, key_id=None)
    keys = {name: c.chain.accounts[k + 1] for k, name in enumerate(world.names)}
    who = {
        name: admit_funded_member(ctx, c, operator, keys[name], name=name, collateral=int(world.capital[k]))
        for k, name in enumerate(world.names)
    }
    chain_sync.sync(ctx.sessions, c)
    credit.rescore(ctx, trigger="schedule")
    chain_sync.sync(ctx.sessions, c)
    say(f"--full: {world.n} members admitted with their capital as collateral; pool {world.pool}")
    run = _Days(ctx, world, demand, scenario, who, keys, operator, clock)
    for d in range(world.days):
        run.day(d)
    report = audit.verify(ctx.sessions, c)
    return {
        "interrupted": run.interrupted,
        "positions": run.positions,
        "cycles": run.cycles,
        "holds_released": run.holds_released,
        "audit_ok": report.ok,
        "wall_s": round(clock_time.perf_counter() - t0, 1),
    }


class _Days:
    """The service path's days: top-ups land, orders are submitted, the cycle settles, members top up."""

    def __init__(self, ctx: Any, world: Any, demand: Any, scenario: Any, who: Any, keys: Any, operator: Any,
                 clock: _Clock) -> None:  # fmt: skip
        self.ctx, self.world, self.demand, self.s = ctx, world, demand, scenario
        self.who, self.keys, self.operator, self.clock = who, keys, operator, clock
        self.interrupted = [False] * demand.orders
        self.positions: list[dict[str, int]] = []
        self.arriving: dict[int, list[tuple[str, int]]] = {}
        self.inflight = dict.fromkeys(world.names, 0)
        self.cycles = 0
        self.holds_released = 0

    def day(self, d: int) -> None:
        from clearing.services import chain_sync

        c = self.ctx.contracts
        self.clock.now = datetime.combine(self.world.dates[d], time(), tzinfo=UTC)
        for name, amount in self.arriving.pop(d, []):
            c.fund_member(self.keys[name], amount)
            self.inflight[name] -= amount
        chain_sync.sync(self.ctx.sessions, c)
        self._submit(d)
        self.clock.now += timedelta(hours=23, minutes=59)
        view = self.ctx.cycles.settle()
        self.cycles += 1
        chain_sync.sync(self.ctx.sessions, c)
        self.positions.append({n: int(view.positions.get(n, 0)) for n in self.world.names})
        self._treasury(d)
        chain_sync.sync(self.ctx.sessions, c)

    def _submit(self, d: int) -> None:
        from clearing.services import disputes, holds
        from clearing.services.submission import ObligationInput, submit_group

        dem, names = self.demand, self.world.names
        lo, hi = int(dem.day_start[d]), int(dem.day_start[d + 1])
        requests = []
        for k in range(lo, hi):
            b, s = names[int(dem.buyer[k])], names[int(dem.seller[k])]
            requests.append((self.who[b], ObligationInput(f"{d}.{k - lo}", b, s, int(dem.amount[k]), "sim")))
        self.clock.now += timedelta(hours=12)
        outcomes = submit_group(self.ctx, requests) if requests else []
        for k, out in zip(range(lo, hi), outcomes, strict=True):
            if isinstance(out, Exception):
                raise out
            ob = out.obligation
            if ob.status == "queued_beyond_headroom":
                self.interrupted[k] = True
                debtor = self.who[ob.debtor]
                dispute = disputes.file(self.ctx, debtor, ob.id, reason="interrupted: insufficient headroom")
                disputes.resolve(self.ctx, self.operator, dispute.id, decision="uphold", reason="order withdrawn")
            elif ob.status == "held":
                if any(h.rule == "member-suspended" for h in ob.holds):
                    self.interrupted[k] = True
                    continue
                for h in ob.holds:
                    holds.review(self.ctx, self.operator, h.id, decision="release", reason="released in the cycle")
                    self.holds_released += 1

    def _treasury(self, d: int) -> None:
        """Each member's daily top-up (or withdrawal) by the fast path's policy: before day 28 its target is
        its whole capital (see ``clearing.domain.simulation.treasury``)."""
        from clearing.domain.headroom import topup_needed
        from clearing.services import members

        c = self.ctx.contracts
        for k, name in enumerate(self.world.names):
            liq = members.get(self.ctx, name).liquidity
            balance, line, target = liq.collateral, liq.credit_line, int(self.world.capital[k])
            free, drawn = max(0, balance), max(0, -balance)
            amount = topup_needed(free + self.inflight[name], line, drawn, 0, target + line)
            if amount > 0:
                self.arriving.setdefault(d + int(self.world.bank_days[k]), []).append((name, amount))
                self.inflight[name] += amount
            elif self.inflight[name] == 0 and balance > target:
                key = self.keys[name]
                c.house.withdraw(balance - target, key.address, sender=key)
