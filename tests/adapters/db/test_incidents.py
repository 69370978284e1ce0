"""What the credit score counts of disputes and complaints: outcomes against their target, grouped in SQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from clearing.adapters.db.credit_inputs import gather_credit_inputs
from clearing.adapters.db.incidents import incident_counts
from clearing.services import complaints, disputes
from clearing.services import submission as obligations
from clearing.services.submission import ObligationInput
from tests.conftest import OPERATOR, admit_member, ledger_house


class Clock:
    def __init__(self) -> None:
        self.t = datetime(2026, 3, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.t


def test_only_upheld_disputes_and_validated_complaints_count_against_their_target(db):
    clock = Clock()
    ctx = ledger_house(db, clock=clock)
    m = {n: admit_member(ctx, n, collateral=10**9).principal for n in ("alpha", "beta", "gamma")}

    def owe(oid: str, debtor: str, creditor: str) -> str:
        item = ObligationInput(id=oid, debtor=debtor, creditor=creditor, amount=10)
        obligations.submit(ctx, m[debtor], [item], batch=False)
        return oid

    def dispute(who: str, oid: str, decision: str | None) -> None:
        d = disputes.file(ctx, m[who], oid, reason="r")
        if decision:
            disputes.resolve(ctx, OPERATOR, d.id, decision=decision, reason="r")

    def complain(who: str, against: str, decision: str | None) -> None:
        c = complaints.file(ctx, m[who], against=against, reason="r")
        if decision:
            complaints.resolve(ctx, OPERATOR, c.id, decision=decision, reason="r")

    dispute("beta", owe("o1", "alpha", "beta"), "uphold")  # against alpha: counts
    dispute("alpha", owe("o2", "alpha", "beta"), "reject")  # against beta, rejected: does not count
    dispute("gamma", owe("o3", "alpha", "gamma"), None)  # open: counts for no one yet
    complain("beta", "alpha", "validate")  # against alpha: counts
    complain("gamma", "alpha", "dismiss")  # dismissed: does not count
    complain("alpha", "gamma", None)  # open
    clock.t += timedelta(days=30)
    dispute("alpha", owe("o4", "gamma", "alpha"), "uphold")  # filed later, against gamma
    complain("alpha", "beta", "validate")  # later, against beta

    ids = {n: p.member_id for n, p in m.items()}
    with ctx.uow(read_only=True) as uow:
        s = uow.session
        everyone = incident_counts(s, None)
        assert everyone == {ids["alpha"]: (1, 1), ids["gamma"]: (1, 0), ids["beta"]: (0, 1)}
        assert incident_counts(s, [ids["beta"], ids["gamma"], 999]) == {
            ids["beta"]: (0, 1),
            ids["gamma"]: (1, 0),
            999: (0, 0),
        }
        assert incident_counts(s, []) == {}
        later = incident_counts(s, ids.values(), since=clock.t)
        assert later == {ids["alpha"]: (0, 0), ids["beta"]: (0, 1), ids["gamma"]: (1, 0)}
        # many ids: filtered over the grouped rows instead of an IN list, same answer
        many = incident_counts(s, [*ids.values(), *range(10_000, 12_000)])
        assert {k: v for k, v in many.items() if v != (0, 0)} == everyone and len(many) == 2003


def test_the_credit_inputs_count_incidents_filed_in_their_window(db):
    clock = Clock()
    ctx = ledger_house(db, clock=clock)
    m = {n: admit_member(ctx, n, collateral=10**9).principal for n in ("alpha", "beta")}
    old = ObligationInput(id="old", debtor="alpha", creditor="beta", amount=10)
    obligations.submit(ctx, m["alpha"], [old], batch=False)
    d = disputes.file(ctx, m["beta"], "old", reason="r")
    disputes.resolve(ctx, OPERATOR, d.id, decision="uphold", reason="r")
    clock.t += timedelta(days=120)  # outside a 3-month window
    new = ObligationInput(id="new", debtor="alpha", creditor="beta", amount=10)
    obligations.submit(ctx, m["alpha"], [new], batch=False)
    d = disputes.file(ctx, m["beta"], "new", reason="r")
    disputes.resolve(ctx, OPERATOR, d.id, decision="uphold", reason="r")
    c = complaints.file(ctx, m["beta"], against="alpha", reason="r")
    complaints.resolve(ctx, OPERATOR, c.id, decision="validate", reason="r")

    alpha, beta = m["alpha"].member_id, m["beta"].member_id
    with ctx.uow(read_only=True) as uow:
        got = gather_credit_inputs(uow.session, [alpha, beta], as_of=clock.t + timedelta(seconds=1), months=3)
    assert (got[alpha].disputes, got[alpha].complaints) == (1, 1)
    assert (got[beta].disputes, got[beta].complaints) == (0, 0)
