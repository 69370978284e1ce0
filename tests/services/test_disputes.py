"""Disputes on a real ledger and a real (in-process) chain: held before cut-off, reversed after settlement."""

from __future__ import annotations

import dataclasses
import threading

import pytest
from sqlalchemy import func, select

from clearing.adapters.chain import backends
from clearing.adapters.db.models import AuditLog, Hold, Member, Obligation
from clearing.adapters.db.reservations import reservation_mismatches
from clearing.domain.merkle import obligation_key
from clearing.domain.risk import RiskConfig
from clearing.errors import (
    AmbiguousObligation,
    ClearingError,
    Conflict,
    DisputeOpen,
    NotDisputable,
    NotFound,
    ValidationError,
)
from clearing.services import audit, disputes, holds
from clearing.services import submission as obligations
from clearing.services.cycles import CycleService
from clearing.services.submission import ObligationInput
from tests.conftest import OPERATOR

from .conftest import House, build_house

SPEC = [("alpha", "A", 5_000_000, 0), ("beta", "B", 5_000_000, 0), ("gamma", "A", 5_000_000, 0)]
#: Tier B's single-order limit is low: beta's 300,000 waits for a reviewer (over 50% above it).
CONFIG = RiskConfig(single_order_limit={"A": 10**12, "B": 100_000, "C": 100})


@pytest.fixture
def house(db_url) -> House:
    h = build_house(db_url, backends.embedded(), SPEC)
    return dataclasses.replace(h, ctx=dataclasses.replace(h.ctx, risk_config=CONFIG))


def _submit(house: House, oid: str, debtor: str, creditor: str, amount: int) -> str:
    item = ObligationInput(id=oid, debtor=debtor, creditor=creditor, amount=amount)
    [r] = obligations.submit(house.ctx, house.principals[debtor], [item], batch=False)
    return r.obligation.status


def _status(house: House, oid: str, submitter: str | None = None) -> str:
    return obligations.get_any(house.ctx, oid, submitter).status


def _key(house: House, submitter: str, oid: str) -> str:
    return "0x" + obligation_key(house.keys[submitter].address, oid).hex()


def _settle(house: House):
    return CycleService(house.ctx.sessions, house.contracts).settle()


def _reserved(house: House, name: str) -> tuple[int, int]:
    with house.ctx.uow(read_only=True) as uow:
        m = uow.session.scalars(select(Member).where(Member.name == name)).one()
        return m.reserved_debit, m.reserved_credit


def _exact(house: House) -> None:
    with house.ctx.uow(read_only=True) as uow:
        assert reservation_mismatches(uow.session) == {}


def _balance(house: House, name: str) -> int:
    return house.contracts.house.balance_of(house.keys[name].address)


def _actions(house: House) -> list[tuple[str, str, dict]]:
    with house.ctx.uow(read_only=True) as uow:
        return [(a.actor, a.action, a.payload) for a in uow.session.scalars(select(AuditLog).order_by(AuditLog.id))]


def _file(
    house: House, who: str, oid: str, reason: str = "goods never arrived", submitter: str | None = None
) -> disputes.DisputeView:
    return disputes.file(house.ctx, house.principals[who], oid, reason=reason, submitter=submitter)


def _resolve(house: House, dispute_id: int, decision: str, reason: str = "checked the logs") -> disputes.DisputeView:
    return disputes.resolve(house.ctx, OPERATOR, dispute_id, decision=decision, reason=reason)


def test_pre_close_dispute_holds_the_obligation_out_of_netting_and_rejection_returns_it(house):
    assert _submit(house, "o1", "alpha", "gamma", 400_000) == "accepted"
    assert _reserved(house, "alpha") == (400_000, 0)
    d = _file(house, "gamma", "o1")  # the creditor disputes the debtor's submission
    assert (d.phase, d.state, d.filed_by, d.against, d.obligation_status) == (
        "pre-close",
        "open",
        "gamma",
        "alpha",
        "disputed",
    )
    assert (d.obligation_id, d.submitter, d.obligation_key) == ("o1", "alpha", _key(house, "alpha", "o1"))
    [hold] = [h for h in holds.list_holds(house.ctx) if h.obligation_id == "o1"]
    assert hold.id == d.hold_id and hold.rule == "dispute" and hold.values == {"dispute": str(d.id)}
    assert _reserved(house, "alpha") == (0, 0)  # as a held obligation: nothing reserved
    _exact(house)

    view = _settle(house)
    assert view.state == "ABORTED" and view.obligations == 0  # the cut-off left it out
    assert _status(house, "o1") == "disputed"
    with pytest.raises(Conflict, match="resolve the dispute"):  # its hold is the dispute's, not a reviewer's
        holds.review(house.ctx, OPERATOR, d.hold_id, decision="release", reason="no")

    done = _resolve(house, d.id, "reject")
    assert (done.state, done.obligation_status, done.resolution, done.resolver) == (
        "rejected",
        "accepted",
        "checked the logs",
        OPERATOR.actor,
    )
    assert [h.status for h in holds.list_holds(house.ctx, status=None) if h.id == d.hold_id] == ["released"]
    before = _balance(house, "alpha")
    assert _settle(house).state == "SETTLED"
    assert _status(house, "o1") == "settled" and _balance(house, "alpha") == before - 400_000
    _exact(house)
    assert audit.verify(house.ctx.sessions, house.contracts).ok


def test_upheld_pre_close_dispute_cancels_the_obligation_and_it_never_settles(house):
    _submit(house, "o1", "alpha", "gamma", 400_000)
    _submit(house, "o2", "alpha", "gamma", 100_000)
    d = _file(house, "alpha", "o1")
    done = _resolve(house, d.id, "uphold", "gamma confirmed it never shipped")
    assert (done.state, done.obligation_status) == ("upheld", "cancelled")
    assert _reserved(house, "alpha") == (100_000, 0)
    _exact(house)
    view = _settle(house)
    assert view.obligations == 1 and _status(house, "o2") == "settled" and _status(house, "o1") == "cancelled"
    _settle(house)
    assert _status(house, "o1") == "cancelled"
    with pytest.raises(NotDisputable, match="cancelled"):
        _file(house, "alpha", "o1")


def test_a_dispute_of_a_held_obligation_keeps_it_held_until_resolved(house):
    assert _submit(house, "big", "beta", "alpha", 300_000) == "held"
    [risk_hold] = holds.list_holds(house.ctx)
    d = _file(house, "beta", "big")
    assert d.obligation_status == "held"
    holds.review(house.ctx, OPERATOR, risk_hold.id, decision="release", reason="the order is real")
    assert _status(house, "big") == "held"  # the dispute's hold still keeps it
    assert _resolve(house, d.id, "reject").obligation_status == "accepted"
    assert _settle(house).state == "SETTLED" and _status(house, "big") == "settled"

    assert _submit(house, "big2", "beta", "alpha", 300_000) == "held"
    d2 = _file(house, "alpha", "big2")
    assert _resolve(house, d2.id, "uphold").obligation_status == "rejected"  # held ones are rejected
    assert {h.status for h in holds.list_holds(house.ctx, status=None) if h.obligation_id == "big2"} == {"rejected"}
    _exact(house)


def test_another_hold_rejected_first_leaves_the_dispute_to_be_resolved(house):
    _submit(house, "big", "beta", "alpha", 300_000)
    [risk_hold] = holds.list_holds(house.ctx)
    d = _file(house, "alpha", "big")
    holds.review(house.ctx, OPERATOR, risk_hold.id, decision="reject", reason="not a real order")
    assert _status(house, "big") == "rejected"
    done = _resolve(house, d.id, "reject")  # the obligation stays rejected: nothing of it comes back
    assert (done.state, done.obligation_status) == ("rejected", "rejected")


def test_post_settlement_dispute_upheld_reverses_it_in_the_next_cycle_once(house):
    _submit(house, "o1", "alpha", "gamma", 400_000)
    _settle(house)
    alpha, gamma = _balance(house, "alpha"), _balance(house, "gamma")
    d = _file(house, "alpha", "o1", "charged twice")
    assert (d.phase, d.hold_id, d.obligation_status) == ("post-settlement", None, "settled")
    done = _resolve(house, d.id, "uphold", "double charge confirmed")
    rid = done.reversal_obligation_id
    assert rid == f"dispute-{d.id}-reversal"
    assert done.reversal_obligation_key == _key(house, "alpha", rid)  # the filer submitted it
    again = _resolve(house, d.id, "uphold", "pressed twice")  # a retry answers, never reverses twice
    assert again == done
    with pytest.raises(Conflict, match="already upheld"):
        _resolve(house, d.id, "reject")
    rev = obligations.get_any(house.ctx, rid)
    assert (rev.debtor, rev.creditor, rev.amount, rev.status) == ("gamma", "alpha", 400_000, "accepted")
    assert (rev.submitter, rev.obligation_key) == ("alpha", done.reversal_obligation_key)
    assert _reserved(house, "gamma") == (400_000, 0) and _reserved(house, "alpha") == (0, 400_000)
    _exact(house)
    with house.ctx.uow(read_only=True) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Obligation)) == 2

    view = _settle(house)
    assert view.state == "SETTLED" and view.obligations == 1
    assert _status(house, rid) == "settled"
    assert (_balance(house, "alpha"), _balance(house, "gamma")) == (alpha + 400_000, gamma - 400_000)
    assert audit.verify(house.ctx.sessions, house.contracts).ok
    with pytest.raises(NotDisputable, match="already reversed"):
        _file(house, "gamma", "o1")


def test_post_settlement_dispute_rejected_moves_nothing_and_may_be_filed_again(house):
    _submit(house, "o1", "alpha", "gamma", 400_000)
    _settle(house)
    d = _file(house, "alpha", "o1")
    done = _resolve(house, d.id, "reject", "the cards were delivered")
    assert (done.state, done.reversal_obligation_id, done.obligation_status) == ("rejected", None, "settled")
    with house.ctx.uow(read_only=True) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Obligation)) == 1
    assert _file(house, "alpha", "o1", "new evidence").state == "open"


def test_who_may_dispute_what(house):
    _submit(house, "o1", "alpha", "gamma", 400_000)
    with pytest.raises(NotFound):  # not a party: as if it did not exist
        _file(house, "beta", "o1")
    with pytest.raises(NotFound):
        _file(house, "alpha", "nope")
    with pytest.raises(ValidationError, match="reason"):
        _file(house, "alpha", "o1", " \t\n")
    d = _file(house, "alpha", "o1")
    with pytest.raises(DisputeOpen):  # one open dispute per obligation, whichever party
        _file(house, "gamma", "o1")
    with pytest.raises(ClearingError, match="operator"):
        disputes.resolve(house.ctx, house.principals["alpha"], d.id, decision="uphold", reason="mine")
    with pytest.raises(NotFound):
        disputes.get(house.ctx, house.principals["beta"], d.id)
    assert [v.id for v in disputes.list_disputes(house.ctx, house.principals["gamma"])] == [d.id]
    assert disputes.list_disputes(house.ctx, house.principals["beta"]) == []
    assert disputes.list_disputes(house.ctx, OPERATOR, member="beta") == []
    assert [v.id for v in disputes.list_disputes(house.ctx, OPERATOR, state="open", member="alpha")] == [d.id]
    assert disputes.list_disputes(house.ctx, OPERATOR, state="upheld") == []


def test_past_its_cut_off_and_before_settlement_it_cannot_be_disputed(house):
    _submit(house, "o1", "alpha", "gamma", 400_000)
    cycles = CycleService(house.ctx.sessions, house.contracts)
    closed = cycles.close()
    with pytest.raises(NotDisputable, match="past its cut-off"):
        _file(house, "alpha", "o1")
    cycles.net(closed.id)
    with pytest.raises(NotDisputable, match="past its cut-off"):
        _file(house, "alpha", "o1")
    cycles.settle(closed.id)
    assert _file(house, "alpha", "o1").phase == "post-settlement"


def test_every_step_is_audited(house):
    _submit(house, "o1", "alpha", "gamma", 400_000)
    d = _file(house, "gamma", "o1", "short delivery")
    _resolve(house, d.id, "reject", "delivery confirmed")
    steps = [(actor, action, p) for actor, action, p in _actions(house) if action.startswith("dispute.")]
    assert [(actor, action) for actor, action, _ in steps] == [
        ("member:gamma", "dispute.file"),
        (OPERATOR.actor, "dispute.reject"),
    ]
    assert steps[0][2]["reason"] == "short delivery" and steps[0][2]["hold"] == str(d.hold_id)
    assert steps[1][2]["obligation_status"] == "accepted" and steps[1][2]["reason"] == "delivery confirmed"


@pytest.mark.postgres
def test_two_parties_disputing_at_once_open_one_dispute(pg_db):
    h = build_house(pg_db.url, backends.embedded(), SPEC)
    _submit(h, "o1", "alpha", "gamma", 400_000)
    barrier, outcomes = threading.Barrier(2), []

    def dispute(who: str) -> None:
        barrier.wait()
        try:
            outcomes.append(_file(h, who, "o1").state)
        except DisputeOpen:
            outcomes.append("409")

    threads = [threading.Thread(target=dispute, args=(w,)) for w in ("alpha", "gamma")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["409", "open"]
    with h.ctx.uow(read_only=True) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Hold).where(Hold.rule == "dispute")) == 1
    _exact(h)


def test_a_reversal_id_is_scoped_to_the_filer_and_only_its_own_ids_are_skipped(house):
    _submit(house, "o1", "alpha", "gamma", 400_000)
    _submit(house, "o2", "gamma", "beta", 400_000)
    _settle(house)
    _submit(house, "dispute-1-reversal", "beta", "alpha", 5)  # another member's id: no collision any more
    _submit(house, "dispute-2-reversal", "beta", "gamma", 5)  # the filer's own id, by chance the derived one
    d1, d2 = _file(house, "alpha", "o1"), _file(house, "beta", "o2")
    assert (d1.id, d2.id) == (1, 2)
    r1, r2 = _resolve(house, d1.id, "uphold"), _resolve(house, d2.id, "uphold")
    assert (r1.reversal_obligation_id, r1.reversal_obligation_key) == (
        "dispute-1-reversal",
        _key(house, "alpha", "dispute-1-reversal"),
    )
    assert (r2.reversal_obligation_id, r2.reversal_obligation_key) == (
        "dispute-2-reversal-2",
        _key(house, "beta", "dispute-2-reversal-2"),
    )
    with pytest.raises(AmbiguousObligation):  # alpha's reversal and beta's own obligation share the id
        obligations.get_any(house.ctx, "dispute-1-reversal")
    assert obligations.get_any(house.ctx, "dispute-1-reversal", "alpha").debtor == "gamma"
    assert obligations.get_any(house.ctx, "dispute-1-reversal", "beta").debtor == "beta"
    assert obligations.get_any(house.ctx, "dispute-2-reversal-2").debtor == "beta"
    _exact(house)


def test_two_members_with_the_same_id_dispute_only_their_own_obligation(house):
    """alpha and beta each use id "X" with gamma: alpha disputes its "X", and only that one is held."""
    _submit(house, "X", "alpha", "gamma", 400_000)
    _submit(house, "X", "beta", "gamma", 50_000)
    d = _file(house, "alpha", "X")
    assert (d.submitter, d.obligation_key, d.against) == ("alpha", _key(house, "alpha", "X"), "gamma")
    assert [(h.submitter, h.obligation_key) for h in holds.list_holds(house.ctx)] == [
        ("alpha", _key(house, "alpha", "X"))
    ]
    assert (_status(house, "X", "alpha"), _status(house, "X", "beta")) == ("disputed", "accepted")
    with pytest.raises(AmbiguousObligation):  # gamma is a party to both and submitted neither: it must say which
        _file(house, "gamma", "X")
    with pytest.raises(DisputeOpen):
        _file(house, "gamma", "X", submitter="alpha")

    view = _settle(house)
    assert view.state == "SETTLED" and view.obligations == 1
    assert (_status(house, "X", "alpha"), _status(house, "X", "beta")) == ("disputed", "settled")
    assert _resolve(house, d.id, "uphold").obligation_status == "cancelled"
    assert _status(house, "X", "beta") == "settled"
    _exact(house)
