"""Issue 9: credit that members earn. Real ledgers (SQLite and PostgreSQL), the real in-process chain.

The clock of the house is injectable (``build_service(clock=...)``): obligations, drawings of credit,
admissions and overrides are dated by it, so months of history run in seconds through the same code
paths as in production (submission, cycles on chain, chain sync, rescoring).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from eth_account.signers.local import LocalAccount
from sqlalchemy import select

from clearing.adapters.chain import backends
from clearing.adapters.chain.deploy import Contracts, deploy
from clearing.adapters.db.models import AuditLog, CreditDraw, CreditScore, Cycle, Member, Obligation
from clearing.bootstrap import build_service
from clearing.dev import admit_funded_member
from clearing.domain.credit import CreditInputs, assess
from clearing.domain.merkle import obligation_key
from clearing.domain.vocabulary import Role
from clearing.errors import CreditLineAboveCap, NotFound, ValidationError
from clearing.services import chain_sync, credit, members
from clearing.services.context import ServiceContext
from clearing.services.credit.rescore import inputs_from_json
from clearing.services.keys import Principal
from clearing.services.scheduler import Scheduler
from clearing.services.submission import ObligationInput, get_any, submit
from clearing.settings import Settings
from tests.conftest import OPERATOR, ledger_house

TOK = 10**6
START = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


class Clock:
    """The house's clock, moved by the test."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, days: float) -> None:
        self.now += timedelta(days=days)


@dataclass
class CreditHouse:
    ctx: ServiceContext
    contracts: Contracts
    clock: Clock
    accounts: dict[str, LocalAccount] = field(default_factory=dict)
    principals: dict[str, Principal] = field(default_factory=dict)
    n: int = 0

    def admit(self, name: str, collateral: int, **kw) -> None:
        acct = self.contracts.chain.accounts[len(self.accounts) + 1]
        self.principals[name] = admit_funded_member(
            self.ctx, self.contracts, OPERATOR, acct, name=name, collateral=collateral, **kw
        )
        self.accounts[name] = acct
        self.sync()

    def sync(self) -> None:
        chain_sync.sync(self.ctx.sessions, self.contracts)

    def fund(self, name: str, amount: int) -> None:
        self.contracts.fund_member(self.accounts[name], amount)
        self.sync()

    def owe(self, debtor: str, creditor: str, amounts: list[int]) -> list[str]:
        items = []
        for a in amounts:
            self.n += 1
            items.append(ObligationInput(f"o-{self.n}", debtor, creditor, a))
        return [r.obligation.status for r in submit(self.ctx, self.principals[debtor], items, batch=True)]

    def settle(self) -> str:
        self.clock.advance(1 / 24)  # the cycle cuts off an hour after the trades it takes
        state = self.ctx.cycles.settle().state  # the cycle service rescores credit after it
        self.sync()  # the limits it sent reach the mirror (the scheduler syncs every 2 s)
        return state

    def rescore(self) -> credit.RescoreResult:
        self.sync()
        result = credit.rescore(self.ctx, trigger="manual")
        self.sync()
        return result

    def credit(self, name: str) -> credit.CreditView:
        return credit.credit_of(self.ctx, credit.member_id_of(self.ctx, name))

    def chain_limit(self, name: str) -> int:
        return self.contracts.house.member(self.accounts[name].address).credit_limit


def credit_house(db, clock: Clock) -> CreditHouse:
    chain = backends.embedded()
    contracts = Contracts.attach(chain, deploy(chain, network="embedded"))
    ctx = build_service(Settings(database_url=db.url), engine=db.engine, contracts=contracts, clock=clock)
    lender = chain.accounts[9]
    contracts.token.mint(lender.address, 10**13)
    contracts.token.approve(contracts.house.address, 10**13, sender=lender)
    contracts.house.pool_deposit(10**13, sender=lender)
    return CreditHouse(ctx=ctx, contracts=contracts, clock=clock)


def _drawings(h: CreditHouse, name: str) -> list:
    """The member's drawings of credit as it reads them (open ones first, soonest due first)."""
    return list(h.credit(name).line.draws)


# --------------------------------------------------------------------------- the score's inputs from the ledger


def test_inputs_are_gathered_from_the_ledger_exactly(db):
    """Volume per 30-day month as debtor and creditor (settled only, exact past 2^63), on time against
    late (eligible at an earlier cut-off than the one that settled it: docs/credit.md), drawings repaid
    by / after their deadline, defaults, age: one rescoring, checked against a recomputation from the rows."""
    clock = Clock()
    ctx = ledger_house(db, clock=clock)
    for name in ("alpha", "beta", "gamma"):
        members.admit(ctx, OPERATOR, name=name, address="0x" + name[:1].encode().hex() * 20)
    clock.advance(100)
    now = clock()
    big = 2**70 + 7
    # three settled cycles, cut off 50, 10 and 0.5 days ago (ids follow cut-offs)
    cuts = [now - timedelta(days=50), now - timedelta(days=10), now - timedelta(hours=12)]
    rows = [
        # (debtor, creditor, amount, status, cycle that settled it (0, 1, 2 or None), days ago)
        ("alpha", "beta", big, "settled", 2, 1),  # after the previous cut-off: on time
        ("alpha", "beta", 500, "settled", 2, 20),  # eligible at the cut-off 10 days ago, settled after: late
        ("beta", "alpha", 300, "settled", 1, 35),  # on time
        ("alpha", "gamma", 70, "carried", None, 40),  # not settled (yet): neither on time nor late
        ("gamma", "alpha", 11, "accepted", None, 5),  # not settled: no volume, not on time or late
        ("alpha", "beta", 9, "settled", 0, 99),  # month 3: outside the 3 months
    ]
    with ctx.uow() as uow:
        s = uow.session
        ids = dict(s.execute(select(Member.name, Member.id)).all())
        addresses = dict(s.execute(select(Member.id, Member.address)).all())
        cycles = [Cycle(state="SETTLED", opened_at=cut - timedelta(days=1), cutoff_at=cut) for cut in cuts]
        s.add_all(cycles)
        s.flush()
        for k, (d, c, amount, status, cycle, ago) in enumerate(rows):
            s.add(
                Obligation(
                    id=f"seed-{k}",
                    obligation_key="0x" + obligation_key(addresses[ids[d]], f"seed-{k}").hex(),
                    debtor_id=ids[d],
                    creditor_id=ids[c],
                    amount=amount,
                    submitted_by=ids[d],
                    body_hash="0" * 64,
                    status=status,
                    route="net",
                    cycle_id=None if cycle is None else cycles[cycle].id,
                    created_at=now - timedelta(days=ago),
                )
            )
        day = timedelta(days=1)
        for amount, outstanding, due, repaid, status in (
            (100, 0, now - 20 * day, now - 25 * day, "repaid"),  # on time
            (100, 0, now - 20 * day, now - 10 * day, "repaid"),  # late
            (100, 60, now - day, None, "open"),  # past due: a default
            (100, 100, now + day, None, "open"),  # not yet due
        ):
            s.add(
                CreditDraw(
                    member_id=ids["alpha"],
                    amount=amount,
                    outstanding=outstanding,
                    drawn_at=now - 30 * day,
                    due_at=due,
                    repaid_at=repaid,
                    status=status,
                )
            )
        s.execute(Member.__table__.update().where(Member.id == ids["alpha"]).values(chain_balance=-160))
        uow.commit()

    credit.rescore(ctx, trigger="manual")

    # recompute from the rows: months are 30-day windows back from now, oldest first
    volume: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for d, c, amount, status, _, ago in rows:
        if status == "settled" and ago < 90:
            volume[d][ago // 30] += amount
            volume[c][ago // 30] += amount
    expected = {
        "alpha": CreditInputs(
            tuple(volume["alpha"][m] for m in (2, 1, 0)), 1, 1, 0, 0, 1, 100, repaid_on_time=1, repaid_late=1
        ),
        "beta": CreditInputs(tuple(volume["beta"][m] for m in (2, 1, 0)), 1, 0, 0, 0, 0, 100),
        "gamma": CreditInputs(tuple(volume["gamma"][m] for m in (2, 1, 0)), 0, 0, 0, 0, 0, 100),
    }
    assert expected["alpha"].monthly_volumes == (0, 300, big + 500)
    for name, x in expected.items():
        view = credit.credit_of(ctx, credit.member_id_of(ctx, name))
        row = view.history[0]
        assert view.recorded and row.trigger == "manual"
        assert view.score == assess(x, credit.policy_of(ctx.settings).score).score, name
        values = {f.name: f.value for f in view.factors}
        assert values["volume"] == sum(x.monthly_volumes) // 3 and values["age"] == 100
    with ctx.uow() as uow:  # the recorded inputs are exactly the recomputation
        newest = select(CreditScore.inputs).order_by(CreditScore.id.desc())
        recorded = {
            n: inputs_from_json(uow.session.scalars(newest.where(CreditScore.member_id == i)).first())
            for n, i in ids.items()
        }
    assert recorded == expected
    alpha = credit.credit_of(ctx, credit.member_id_of(ctx, "alpha"))
    assert alpha.line.average_monthly_volume == (big + 800) // 3
    assert [(d.status, d.overdue) for d in alpha.line.draws][:2] == [("open", True), ("open", False)]
    # the drawing of 160 on chain is what is open (60 + 100): nothing new was recorded
    assert len(_drawings_ledger(ctx, "alpha")) == 4


def _drawings_ledger(ctx: ServiceContext, name: str) -> list:
    return list(credit.credit_of(ctx, credit.member_id_of(ctx, name)).line.draws)


def test_rescoring_records_only_what_changed(sqlite_db):
    clock = Clock()
    ctx = ledger_house(sqlite_db, clock=clock)
    members.admit(ctx, OPERATOR, name="alpha", address="0x" + "aa" * 20)
    first = credit.rescore(ctx)
    again = credit.rescore(ctx)
    assert (first.recorded, again.recorded, again.chain_updates) == (0, 0, 0)  # admission recorded the state
    clock.advance(31)  # the provisional period ends: the score decides (no history: tier C)
    moved = credit.rescore(ctx)
    assert moved.migrations == (("alpha", "B", "C"),)
    view = credit.credit_of(ctx, credit.member_id_of(ctx, "alpha"))
    assert [h.trigger for h in view.history] == ["schedule", "admission"]
    assert view.history[0].tier_from == "B" and "tier" in view.history[0].changed
    assert "provisional period of 30 days over" in view.reasons[0]
    assert credit.migrations(ctx)[0].to_tier == "C"


# --------------------------------------------------------------------------- admission: a provisional line


def test_a_provisional_line_is_bounded_by_policy_and_collateral(db):
    clock = Clock()
    h = credit_house(db, clock)
    h.admit("alpha", 0, credit_line=3_000 * TOK)  # asks for at most 3,000
    h.admit("beta", 10**6 * TOK)  # asks nothing: the policy's bound
    alpha = h.credit("alpha")
    assert (alpha.tier, alpha.source, alpha.provisional, alpha.line.amount) == ("B", "provisional", True, 0)
    assert h.credit("beta").line.amount == 0  # admitted before its deposit: nothing posted yet
    h.fund("alpha", 4_000 * TOK)
    h.rescore()
    assert h.credit("alpha").line.amount == 2_000 * TOK == h.chain_limit("alpha")  # 50% of its collateral
    h.fund("alpha", 100_000 * TOK)
    h.rescore()
    alpha = h.credit("alpha")
    assert alpha.line.amount == 3_000 * TOK == h.chain_limit("alpha")  # what it asked for
    assert "3000000000 asked at admission" in alpha.line.formula
    beta = h.credit("beta")
    assert beta.line.amount == 10_000 * TOK == h.chain_limit("beta")  # the policy's cap
    assert members.get(h.ctx, "beta").credit_line == 10_000 * TOK  # the ledger's line, which headroom reads


# --------------------------------------------------------------------------- earning tier A from tier C


def test_a_member_falls_to_c_on_a_default_then_earns_tier_a_and_its_line_reaches_the_chain(db):
    """C by the score (a drawing unpaid past its deadline), back to B on volume and the orders it settled on
    time (its own go to escrow in tier C and do not count), then A after 180 days of trading both ways:
    the line is 30% of the average monthly volume of the last 3 months, and the chain's limit is the line."""
    clock = Clock()
    h = credit_house(db, clock)
    h.admit("alpha", 20_000 * TOK)
    h.admit("beta", 10_000_000 * TOK)
    h.rescore()
    assert h.chain_limit("alpha") == 10_000 * TOK  # provisional: min(10,000 cap, 50% of 20,000)

    clock.advance(1)  # day 1: alpha pays 25,000 in 25 orders with 20,000 of collateral: it draws 5,000 of credit
    assert h.owe("alpha", "beta", [1_000 * TOK] * 25) == ["accepted"] * 25
    assert h.settle() == "SETTLED"
    [drawing] = _drawings(h, "alpha")
    assert (drawing.amount, drawing.due_at) == (5_000 * TOK, clock() + timedelta(days=7))  # tier B's window

    clock.advance(9)  # day 10: unpaid past its deadline, a default: the provisional line is withdrawn
    h.rescore()
    alpha = h.credit("alpha")
    assert (alpha.tier, alpha.line.amount, alpha.line.frozen) == ("C", 0, True)
    assert "provisional line withdrawn" in alpha.reasons[0]
    assert h.chain_limit("alpha") == 5_000 * TOK  # never below the debt: no new credit on chain
    assert h.contracts.house.available_of(h.accounts["alpha"].address) == 0
    assert {f.name: f.points for f in alpha.factors}["defaults"] == -300
    assert {"defaults", "volume"} <= {i.factor for i in alpha.improvements}

    clock.advance(2)  # day 12: it repays, late, and posts more collateral
    h.fund("alpha", 405_000 * TOK)
    h.rescore()
    assert [(d.status, d.repaid_at > d.due_at) for d in _drawings(h, "alpha")] == [("repaid", True)]
    assert h.chain_limit("alpha") == 0 and h.credit("alpha").tier == "C"

    # tier C: its own obligations go to escrow; beta pays it 900,000 a month (volume as creditor)
    tiers = []
    for day in (15, 45, 60):
        clock.now = START + timedelta(days=day)
        assert set(h.owe("beta", "alpha", [1_000 * TOK] + [59_930 * TOK] * 15)) == {"accepted"}
        h.settle()
        tiers.append(h.credit("alpha").tier)
    assert tiers == ["C", "B", "B"]  # qualified from day 15, promoted at the first assessment 14 days on
    assert h.credit("alpha").line.amount == h.chain_limit("alpha") > 0

    # tier B: alpha trades both ways; 180 days old, its score holds above tier A's bar for 14 days
    for day in (90, 120, 150, 180, 195):
        clock.now = START + timedelta(days=day)
        if day < 195:
            assert set(h.owe("alpha", "beta", [60_000 * TOK] * 15)) == {"accepted"}
            assert set(h.owe("beta", "alpha", [60_000 * TOK] * 15)) == {"accepted"}
            h.settle()
        else:
            h.rescore()
        tiers.append(h.credit("alpha").tier)
    assert tiers[-5:] == ["B", "B", "B", "B", "A"]
    alpha = h.credit("alpha")
    assert alpha.score >= 775 and alpha.next_tier is None
    # the line: 30% of the average monthly volume of the last 3 months, recomputed from the obligations
    with h.ctx.uow(read_only=True) as uow:
        aid = uow.session.scalar(select(Member.id).where(Member.name == "alpha"))
        months = defaultdict(int)
        for amount, created in uow.session.execute(
            select(Obligation.amount, Obligation.created_at).where(
                Obligation.status == "settled", (Obligation.debtor_id == aid) | (Obligation.creditor_id == aid)
            )
        ):
            age = clock() - created
            if age < timedelta(days=90):
                months[age // timedelta(days=30)] += amount
    average = sum(months.values()) // 3
    assert alpha.line.average_monthly_volume == average == 1_800_000 * TOK
    assert alpha.line.amount == average * 30 // 100 == alpha.line.cap
    assert h.chain_limit("alpha") == alpha.line.amount  # the chain's limit is the line
    assert alpha.line.formula.startswith("30% × average monthly volume of the last 3 months")
    assert [m.to_tier for m in credit.migrations(h.ctx, member="alpha")] == ["A", "B", "C"]
    assert get_any(h.ctx, "o-1").status == "settled"


# --------------------------------------------------------------------------- overrides; a line cut below what is drawn


def test_a_demotion_below_what_is_drawn_gives_a_deadline_and_no_new_credit(db):
    clock = Clock()
    h = credit_house(db, clock)
    h.admit("alpha", 1_000 * TOK)
    h.admit("beta", 100_000 * TOK)
    # no history: a line of 10,000 is above alpha's cap; the operator may only pin it explicitly
    with pytest.raises(CreditLineAboveCap) as err:
        credit.override(
            h.ctx,
            OPERATOR,
            "alpha",
            tier="A",
            credit_line=10_000 * TOK,
            above_cap=False,
            reason="launch",
            expires_at=clock() + timedelta(days=60),
        )
    assert err.value.field == "credit_line" and err.value.values["cap"] == 500 * TOK
    pinned = credit.override(
        h.ctx,
        OPERATOR,
        "alpha",
        tier="A",
        credit_line=10_000 * TOK,
        above_cap=True,
        reason="launch",
        expires_at=clock() + timedelta(days=60),
    )
    assert (pinned.tier, pinned.source, pinned.line.amount) == ("A", "override", 10_000 * TOK)
    assert pinned.override is not None and pinned.override.reason == "launch" and pinned.override.above_cap
    assert h.chain_limit("alpha") == 10_000 * TOK

    h.owe("alpha", "beta", [8_000 * TOK])
    h.settle()
    [drawing] = _drawings(h, "alpha")
    assert drawing.amount == 7_000 * TOK and drawing.due_at == clock() + timedelta(days=14)  # tier A's window

    clock.advance(1)
    cut = credit.override(
        h.ctx,
        OPERATOR,
        "alpha",
        tier="C",
        credit_line=None,
        above_cap=False,
        reason="chargebacks",
        expires_at=clock() + timedelta(days=30),
    )
    assert (cut.tier, cut.line.amount, cut.line.frozen, cut.line.chain_limit) == ("C", 0, True, 7_000 * TOK)
    [drawing] = _drawings(h, "alpha")
    assert drawing.due_at == clock() + timedelta(days=3)  # due within tier C's window now
    assert h.chain_limit("alpha") == 7_000 * TOK  # the contract refuses less than the debt
    assert h.contracts.house.available_of(h.accounts["alpha"].address) == 0  # no new credit on chain
    liq = members.get(h.ctx, "alpha").liquidity
    assert liq.credit_line == 0 and liq.headroom == -7_000 * TOK  # nor in the ledger
    assert h.owe("alpha", "beta", [1 * TOK]) == ["escrow"]  # tier C: prepaid per order

    h.fund("alpha", 3_000 * TOK)  # a partial repayment: the limit follows the debt down
    h.rescore()
    assert h.chain_limit("alpha") == 4_000 * TOK and _drawings(h, "alpha")[0].outstanding == 4_000 * TOK
    clock.advance(4)
    assert h.credit("alpha").line.draws[0].overdue
    h.fund("alpha", 4_000 * TOK)
    h.rescore()
    assert h.chain_limit("alpha") == 0
    assert [(d.status, d.repaid_at > d.due_at) for d in _drawings(h, "alpha")] == [("repaid", True)]
    with h.ctx.uow(read_only=True) as uow:
        actions = list(
            uow.session.scalars(select(AuditLog.action).where(AuditLog.action.like("credit.%")).order_by(AuditLog.id))
        )
    assert actions == ["credit.override", "credit.override"]


def test_an_override_expires_and_can_be_ended(sqlite_db):
    clock = Clock()
    ctx = ledger_house(sqlite_db, clock=clock)
    members.admit(ctx, OPERATOR, name="alpha", address="0x" + "aa" * 20)
    operator = Principal(role=Role.OPERATOR, key_id=None)
    aid = credit.member_id_of(ctx, "alpha")
    for bad, field_name in (
        ({"tier": None, "credit_line": None}, "tier"),
        ({"expires_at": clock() - timedelta(seconds=1)}, "expires_at"),
        ({"expires_at": clock() + timedelta(days=366)}, "expires_at"),
        ({"reason": " "}, "reason"),
    ):
        args = {
            "tier": "A",
            "credit_line": None,
            "above_cap": False,
            "reason": "r",
            "expires_at": clock() + timedelta(days=2),
        } | bad
        with pytest.raises(ValidationError) as err:
            credit.override(ctx, operator, "alpha", **args)
        assert err.value.field == field_name
    with pytest.raises(NotFound):
        credit.override(
            ctx,
            operator,
            "nobody",
            tier="A",
            credit_line=None,
            above_cap=False,
            reason="r",
            expires_at=clock() + timedelta(days=2),
        )
    v = credit.override(
        ctx,
        operator,
        "alpha",
        tier="A",
        credit_line=None,
        above_cap=False,
        reason="vip",
        expires_at=clock() + timedelta(days=2),
    )
    assert (v.tier, v.source) == ("A", "override") and members.get(ctx, "alpha").tier == "A"
    clock.advance(3)
    credit.rescore(ctx)
    v = credit.credit_of(ctx, aid)
    assert v.override is None and v.tier == "B" and v.source == "provisional"
    [o] = credit.override_list(ctx)
    assert (o.ended_by, o.end_reason, o.active) == ("system:credit", "expired", False)
    v = credit.override(
        ctx,
        operator,
        "alpha",
        tier="C",
        credit_line=None,
        above_cap=False,
        reason="kyc",
        expires_at=clock() + timedelta(days=2),
    )
    assert v.tier == "C"
    v = credit.end_override(ctx, operator, "alpha", reason="kyc done")
    assert v.tier == "B" and v.override is None
    with pytest.raises(NotFound):
        credit.end_override(ctx, operator, "alpha", reason="again")
    with ctx.uow(read_only=True) as uow:
        actions = list(
            uow.session.scalars(select(AuditLog.action).where(AuditLog.action.like("credit.%")).order_by(AuditLog.id))
        )
        triggers = list(uow.session.scalars(select(CreditScore.trigger).order_by(CreditScore.id)))
    assert actions == ["credit.override", "credit.override_expired", "credit.override", "credit.override_end"]
    assert triggers == ["admission", "override", "schedule", "override", "override"]


def test_the_scheduler_rescores_ledger_only_houses_too(sqlite_db):
    clock = Clock()
    ctx = ledger_house(sqlite_db, clock=clock)
    members.admit(ctx, OPERATOR, name="alpha", address="0x" + "aa" * 20)
    clock.advance(31)  # provisional period over
    scheduler = Scheduler(ctx, cutoff_seconds=0)
    scheduler.tick()
    assert credit.migrations(ctx)[0].trigger == "schedule"
    clock.advance(31)
    members.admit(ctx, OPERATOR, name="beta", address="0x" + "bb" * 20)
    scheduler.tick()  # not due again for credit.rescore_seconds: nothing rescored
    assert [h.trigger for h in credit.credit_of(ctx, credit.member_id_of(ctx, "beta")).history] == ["admission"]


def test_a_member_scored_before_credit_existed_is_assessed_on_read_and_migrated_by_the_next_rescoring(sqlite_db):
    """A ledger upgraded from before migration 0004 has members without history: reading their credit assesses
    them without writing; the next rescoring records them, the operator-typed tier as the one they leave."""
    clock = Clock()
    ctx = ledger_house(sqlite_db, clock=clock)
    members.admit(ctx, OPERATOR, name="alpha", address="0x" + "aa" * 20)
    with ctx.uow() as uow:
        uow.session.execute(CreditScore.__table__.delete())
        uow.session.execute(Member.__table__.update().values(tier="A"))  # as an operator once typed it
        uow.commit()
    aid = credit.member_id_of(ctx, "alpha")
    fresh = credit.credit_of(ctx, aid)
    assert not fresh.recorded and fresh.history == () and fresh.tier == "C"
    assert credit.credit_of(ctx, aid).history == ()  # reading wrote nothing
    assert credit.rescore(ctx).migrations == (("alpha", "A", "C"),)
    assert credit.credit_of(ctx, aid).recorded
