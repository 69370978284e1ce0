"""Cover 2 on a real ledger (SQLite and PostgreSQL) joined to the real in-process chain: credit drawn in a
settled cycle, debits in flight in the open one, a small pool; the alert opens, and resolves once lenders
put more in. Every settled cycle stores a snapshot; a failure after the cycle never fails the cycle."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from eth_account.signers.local import LocalAccount
from sqlalchemy import func, select

from clearing import bootstrap
from clearing.adapters.chain import backends
from clearing.adapters.chain.deploy import Contracts, deploy
from clearing.adapters.db.cover2_snapshots import Cover2Snapshot
from clearing.adapters.db.models import AuditLog
from clearing.bootstrap import build_service
from clearing.dev import admit_funded_member
from clearing.errors import ChainError, ServiceUnavailable
from clearing.services import alerts, chain_sync, cover2, credit
from clearing.services.context import ServiceContext
from clearing.services.keys import Principal
from clearing.services.submission import ObligationInput, submit
from clearing.settings import Settings
from tests.conftest import OPERATOR, ledger_house

TOK = 10**6


@dataclass
class PoolHouse:
    ctx: ServiceContext
    contracts: Contracts
    principals: dict[str, Principal] = field(default_factory=dict)
    n: int = 0

    def admit(self, name: str, collateral: int, line: int = 0) -> None:
        acct = self.contracts.chain.accounts[len(self.principals) + 1]
        self.principals[name] = admit_funded_member(
            self.ctx, self.contracts, OPERATOR, acct, name=name, collateral=collateral
        )
        if line:  # pinned, so no rescoring after a cycle moves it
            credit.override(
                self.ctx,
                OPERATOR,
                name,
                tier="A",
                credit_line=line,
                above_cap=True,
                reason="cover 2 test",
                expires_at=self.ctx.clock() + timedelta(days=60),
            )
        self.sync()

    def lend(self, amount: int) -> None:
        """A lender deposits into the pool from its own wallet (dev account 9)."""
        lender: LocalAccount = self.contracts.chain.accounts[9]
        self.contracts.token.mint(lender.address, amount)
        self.contracts.token.approve(self.contracts.house.address, amount, sender=lender)
        self.contracts.house.pool_deposit(amount, sender=lender)

    def owe(self, debtor: str, creditor: str, amount: int) -> str:
        self.n += 1
        [r] = submit(
            self.ctx, self.principals[debtor], [ObligationInput(f"o-{self.n}", debtor, creditor, amount)], batch=True
        )
        return r.obligation.status

    def sync(self) -> None:
        chain_sync.sync(self.ctx.sessions, self.contracts)

    def snapshots(self) -> int:
        with self.ctx.uow(read_only=True) as uow:
            return int(uow.session.scalar(select(func.count()).select_from(Cover2Snapshot)) or 0)


def pool_house(db) -> PoolHouse:
    chain = backends.embedded()
    contracts = Contracts.attach(chain, deploy(chain, network="embedded"))
    ctx = build_service(Settings(database_url=db.url), engine=db.engine, contracts=contracts)
    return PoolHouse(ctx=ctx, contracts=contracts)


def _cover2_alerts(ctx, state="active"):
    return [
        (a.member, a.state, a.severity) for a in alerts.list_alerts(ctx, OPERATOR, state=state, kind="cover2_uncovered")
    ]


def test_two_drawn_members_with_debits_in_flight_exceed_a_small_pool_then_a_deposit_covers_them(db):
    h = pool_house(db)
    h.lend(1_800 * TOK)
    h.admit("alpha", 1_000 * TOK, line=2_000 * TOK)
    h.admit("beta", 1_000 * TOK, line=2_000 * TOK)
    h.admit("gamma", 100_000 * TOK)
    assert h.snapshots() == 0

    # a cycle: alpha and beta each pay 1,800 on 1,000 of collateral: each draws 800 from the pool
    assert h.owe("alpha", "gamma", 1_800 * TOK) == h.owe("beta", "gamma", 1_800 * TOK) == "accepted"
    assert h.ctx.cycles.settle().state == "SETTLED"
    after_cycle = cover2.latest(h.ctx)
    assert after_cycle is not None and (after_cycle.trigger, after_cycle.cycle_id) == ("cycle", 1)
    assert [(m.member, m.drawn, m.in_flight_net_debit, m.collateral, m.exposure) for m in after_cycle.members] == [
        ("alpha", 800 * TOK, 0, 0, 800 * TOK),
        ("beta", 800 * TOK, 0, 0, 800 * TOK),
    ]
    assert (after_cycle.loss, after_cycle.resources, after_cycle.covered) == (1_600 * TOK, 1_800 * TOK, True)
    assert after_cycle.resources == h.contracts.house.pool_total()  # the pool's equity, read from the chain
    assert _cover2_alerts(h.ctx) == []

    # the next cycle is open: alpha takes on 150 of net debit (gamma owes it 50 of 200), beta 150
    assert h.owe("alpha", "gamma", 200 * TOK) == "accepted"
    assert h.owe("gamma", "alpha", 50 * TOK) == "accepted"
    assert h.owe("beta", "gamma", 150 * TOK) == "accepted"
    short = cover2.compute(h.ctx, actor=OPERATOR)
    assert (short.trigger, short.cycle_id) == ("manual", None)
    assert [(m.member, m.in_flight_net_debit, m.exposure) for m in short.members] == [
        ("alpha", 150 * TOK, 950 * TOK),
        ("beta", 150 * TOK, 950 * TOK),
    ]
    assert (short.loss, short.resources, short.covered, short.surplus) == (1_900 * TOK, 1_800 * TOK, False, -100 * TOK)
    assert short.coverage_bps == 1_800 * 10_000 // 1_900 == 9_473
    [a] = alerts.list_alerts(h.ctx, OPERATOR, kind="cover2_uncovered")
    assert (a.member, a.state, a.severity) == (None, "open", "critical")
    assert a.data["shortfall"] == str(100 * TOK) and a.data["members"] == ["alpha", "beta"]
    assert cover2.latest(h.ctx) == short
    # a full evaluation (the scheduler's) reads the latest snapshot too: resolved by hand, it opens again
    alerts.resolve(h.ctx, OPERATOR, a.id, reason="looked at it")
    alerts.set_thresholds(h.ctx, OPERATOR, "alpha", {"credit_utilisation_high": 1_000}, reason="watch alpha")
    assert alerts.evaluate(h.ctx).opened == 2  # Cover 2 again, and alpha's 40% of its line
    [a] = alerts.list_alerts(h.ctx, OPERATOR, kind="cover2_uncovered")
    assert a.state == "open"

    h.lend(100 * TOK)  # lenders put in exactly the shortfall: covered at the boundary
    covered = cover2.compute(h.ctx)
    assert (covered.loss, covered.resources, covered.covered, covered.coverage_bps) == (
        1_900 * TOK,
        1_900 * TOK,
        True,
        10_000,
    )
    assert _cover2_alerts(h.ctx) == []
    [done, by_hand] = alerts.list_alerts(h.ctx, OPERATOR, state="resolved", kind="cover2_uncovered")
    assert (done.id, done.resolved_by, by_hand.resolved_by) == (a.id, "system", OPERATOR.actor)
    # Cover 2 evaluates only its own rule: alpha's alert stays as the full evaluation left it
    [(who, kind, state)] = [(x.member, x.kind, x.state) for x in alerts.list_alerts(h.ctx, OPERATOR)]
    assert (who, kind, state) == ("alpha", "credit_utilisation_high", "open")
    assert h.snapshots() == 3
    with h.ctx.uow(read_only=True) as uow:  # read inside: an expired row read after it opens a new transaction
        [audited] = uow.session.scalars(select(AuditLog).where(AuditLog.action == "cover2.run")).all()
        assert audited.actor == OPERATOR.actor and audited.payload["covered"] is False


def test_every_settled_cycle_stores_a_snapshot_and_a_failure_never_fails_the_cycle(db, monkeypatch, caplog):
    h = pool_house(db)
    h.lend(10_000 * TOK)
    h.admit("alpha", 1_000 * TOK, line=2_000 * TOK)
    h.admit("gamma", 10_000 * TOK)
    h.owe("alpha", "gamma", 1_500 * TOK)
    assert h.ctx.cycles.settle().state == "SETTLED"
    assert h.snapshots() == 1
    [only] = cover2.latest(h.ctx).members  # one member exposed: a pair of one
    assert (only.member, only.exposure) == ("alpha", 500 * TOK)

    # the chain fails under Cover 2: the cycle is settled all the same, and says so in the log
    def unreachable():
        raise ChainError("rpc node unreachable")

    monkeypatch.setattr(h.contracts.house, "pool_total", unreachable)
    h.owe("alpha", "gamma", 10 * TOK)
    with caplog.at_level(logging.ERROR, logger="clearing.bootstrap"):
        assert h.ctx.cycles.settle().state == "SETTLED"
    assert "Cover 2 after cycle 2 failed" in caplog.text
    assert h.snapshots() == 1
    monkeypatch.undo()

    # a job before it that fails does not stop Cover 2
    def broken(ctx, cycle_id):
        raise RuntimeError("rescoring broke")

    monkeypatch.setattr(bootstrap, "AFTER_CYCLE", (("credit rescoring", broken), *bootstrap.AFTER_CYCLE[1:]))
    h.owe("alpha", "gamma", 10 * TOK)
    assert h.ctx.cycles.settle().state == "SETTLED"
    assert h.snapshots() == 2 and cover2.latest(h.ctx).cycle_id == 3


def test_the_first_read_computes_one_and_a_house_without_a_chain_has_none(db):
    h = pool_house(db)
    h.lend(5 * TOK)
    assert cover2.latest(h.ctx) is None
    first = cover2.current(h.ctx)
    assert (first.trigger, first.loss, first.resources, first.covered, first.members) == (
        "first_read",
        0,
        5 * TOK,
        True,
        (),
    )
    assert cover2.current(h.ctx) == first  # read again: the same, not a new one
    assert first.coverage_bps is None

    ledger_only = ledger_house(db)
    with pytest.raises(ServiceUnavailable):
        cover2.compute(ledger_only)
