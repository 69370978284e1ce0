"""The credit inputs read from the ledger: each definition of docs/credit.md, on SQLite and PostgreSQL."""

from __future__ import annotations

import doctest
from datetime import UTC, datetime, timedelta

import pytest

from clearing.adapters.db import UnitOfWork, credit_inputs
from clearing.adapters.db.credit_inputs import gather_credit_inputs
from clearing.adapters.db.models import CreditDraw, Cycle, Hold, Member, Obligation
from clearing.domain.credit import CreditInputs
from clearing.domain.merkle import obligation_key

AS_OF = datetime(2026, 6, 1, tzinfo=UTC)
DAY = timedelta(days=1)
BIG = 2**100  # past 2^64: sums must be exact


def _address(n: int) -> str:
    return "0x" + f"{n:040x}"


def _member(n: int, age_days: int) -> Member:
    return Member(id=n, name=f"m{n}", address=_address(n), created_at=AS_OF - age_days * DAY)


def _key(oid: str, submitter: int) -> str:
    return "0x" + obligation_key(_address(submitter), oid).hex()


def _ob(oid: str, d: int, c: int, amount: int, days_ago: float, status="settled", cycle=None, route="net"):
    return Obligation(
        obligation_key=_key(oid, d),
        id=oid,
        debtor_id=d,
        creditor_id=c,
        amount=amount,
        created_at=AS_OF - timedelta(days=days_ago),
        submitted_by=d,
        body_hash="0" * 64,
        status=status,
        route=route,
        cycle_id=cycle,
    )


@pytest.fixture
def ledger(db):
    """Three members; daily cycles 1..80 (cut-off at the end of each day); obligations of every kind."""
    with UnitOfWork.from_factory(db.sessions) as uow:
        s = uow.session
        s.add_all([_member(1, 400), _member(2, 30), _member(3, 5), _member(4, 0)])
        s.flush()
        first = AS_OF - 80 * DAY
        s.add_all(
            [
                Cycle(id=k, state="SETTLED", opened_at=first + (k - 1) * DAY, cutoff_at=first + k * DAY)
                for k in range(1, 81)
            ]
        )
        s.add(Cycle(id=81, state="OPEN", opened_at=AS_OF))
        s.flush()

        def cycle_of(days_ago: float, carried: int = 0) -> int:  # the cycle whose cut-off follows created_at
            return 80 - int(days_ago) + carried

        s.add_all(
            [
                # month 3 (most recent: 0-30 days ago)
                _ob("a", 1, 2, BIG, 1.5, cycle=cycle_of(1.5)),  # on time
                _ob("b", 1, 2, 7, 2.5, cycle=cycle_of(2.5, carried=2)),  # carried twice: late
                _ob("c", 2, 1, 11, 3.5, cycle=cycle_of(3.5)),  # 2 owes 1: 1's creditor volume
                _ob("d", 1, 3, 5, 4.5, status="carried"),  # not settled: nowhere
                _ob("e", 1, 3, 13, 5.5, status="rejected"),  # nowhere
                _ob("f", 1, 2, 17, 6.5, route="escrow"),  # escrow route: volume only
                _ob("g", 1, 2, 19, 7.5, cycle=cycle_of(7.5, carried=1)),  # late, but it was held: neither
                # month 2 (30-60 days ago)
                _ob("h", 1, 2, 23, 45.5, cycle=cycle_of(45.5)),
                _ob("i", 1, 2, 29, 46.5, cycle=cycle_of(46.5, carried=1)),
                # month 1 (60-90 days ago); the first cycle has no earlier cut-off
                _ob("j", 1, 3, 31, 79.5, cycle=1),
                # before the window and at/after as_of: nowhere
                _ob("k", 1, 2, 37, 95),
                _ob("l", 1, 2, 41, 0, cycle=81),
            ]
        )
        s.flush()
        s.add(Hold(obligation_key=_key("g", 1), rule="single-order-limit", message="held", status="released"))
        uow.commit()
    return db


def _gather(db, ids=None, **kw):
    with UnitOfWork.from_factory(db.sessions, read_only=True) as uow:
        return gather_credit_inputs(uow.session, ids, as_of=AS_OF, **kw)


def test_each_definition(ledger):
    got = _gather(ledger)
    assert set(got) == {1, 2, 3}  # member 4 joins at as_of: not yet a member
    assert got[1] == CreditInputs(
        monthly_volumes=(31, 23 + 29, BIG + 7 + 11 + 17 + 19),
        settled_on_time=3,  # a, h, j (c is 2's; f escrow; g held)
        settled_late=2,  # b, i
        disputes=0,
        complaints=0,
        defaults=0,
        age_days=400,
    )
    assert got[2] == CreditInputs((0, 23 + 29, BIG + 7 + 11 + 17 + 19), 1, 0, 0, 0, 0, 30)
    assert got[3] == CreditInputs((31, 0, 0), 0, 0, 0, 0, 0, 5)


def test_some_members_and_other_windows(ledger):
    full = _gather(ledger)
    assert _gather(ledger, [3, 1]) == {1: full[1], 3: full[3]}
    assert _gather(ledger, [99]) == {}
    one = _gather(ledger, [1], months=1)[1]
    assert one.monthly_volumes == (BIG + 7 + 11 + 17 + 19,) and (one.settled_on_time, one.settled_late) == (1, 1)
    assert _gather(ledger, [1], months=4)[1].monthly_volumes == (37, 31, 52, BIG + 54)


def test_drawings_of_credit_as_of_a_date(ledger):
    """Repaid by / after the deadline, and defaults (due before as_of, not repaid by it), from every drawing
    made by as_of: what the member knew at as_of, whatever happened after."""

    def draw(member: int, drawn: float, due: float, repaid: float | None) -> CreditDraw:
        at = AS_OF - drawn * DAY
        back = None if repaid is None else AS_OF - repaid * DAY
        return CreditDraw(
            member_id=member,
            amount=BIG,
            outstanding=BIG if back is None or back > AS_OF else 0,
            drawn_at=at,
            due_at=AS_OF - due * DAY,
            repaid_at=back,
            status="open" if back is None else "repaid",
        )

    with UnitOfWork.from_factory(ledger.sessions) as uow:
        uow.session.add_all(
            [
                draw(1, 200, 193, 195),  # repaid on time, long ago: still counts
                draw(1, 20, 13, 10),  # repaid late
                draw(1, 20, 13, None),  # unpaid past its deadline: a default
                draw(1, 5, -2, None),  # not yet due
                draw(1, 20, 13, -1),  # repaid after as_of: at as_of, a default
                draw(1, -1, -8, None),  # drawn after as_of: nowhere
                draw(2, 10, 3, 3),  # repaid at its deadline: on time
            ]
        )
        uow.commit()
    got = _gather(ledger)
    one, two = got[1], got[2]
    assert (one.repaid_on_time, one.repaid_late, one.defaults) == (1, 1, 2)
    assert (two.repaid_on_time, two.repaid_late, two.defaults) == (1, 0, 0)
    assert (got[3].repaid_on_time, got[3].repaid_late, got[3].defaults) == (0, 0, 0)
    with UnitOfWork.from_factory(ledger.sessions, read_only=True) as uow:
        assert credit_inputs.drawing_counts(uow.session, [2, 3], as_of=AS_OF) == {2: (1, 0, 0)}


def test_refuses_naive_times_and_empty_windows(ledger):
    with UnitOfWork.from_factory(ledger.sessions, read_only=True) as uow:
        with pytest.raises(ValueError):
            gather_credit_inputs(uow.session, None, as_of=datetime(2026, 6, 1))
        with pytest.raises(ValueError):
            gather_credit_inputs(uow.session, None, as_of=AS_OF, months=0)


def test_docstring_examples_run():
    assert doctest.testmod(credit_inputs).failed == 0
