"""Daily flows read from the ledger for forecasting: exact sums per member and UTC day, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from clearing.adapters.db import UnitOfWork
from clearing.adapters.db.daily_flows import TRADE_STATUSES, daily_flows
from clearing.adapters.db.models import Member, Obligation
from clearing.domain.merkle import obligation_key
from clearing.domain.vocabulary import ObligationStatus

TODAY = date(2026, 6, 10)
BIG = 2**70  # past 2^63: a sum in a float or a BIGINT would be wrong


def _address(n: int) -> str:
    return "0x" + f"{n:040x}"


def _ob(oid: str, d: int, c: int, amount: int, at: datetime, status: str = "settled") -> Obligation:
    return Obligation(
        obligation_key="0x" + obligation_key(_address(d), oid).hex(),
        id=oid,
        debtor_id=d,
        creditor_id=c,
        amount=amount,
        created_at=at,
        submitted_by=d,
        body_hash="0" * 64,
        status=status,
    )


def _at(d: date, hour: int, minute: int = 0) -> datetime:
    return datetime(d.year, d.month, d.day, hour, minute, tzinfo=UTC)


@pytest.fixture
def ledger(db):
    day1, day2 = TODAY - timedelta(days=3), TODAY - timedelta(days=1)
    with UnitOfWork.from_factory(db.sessions) as uow:
        s = uow.session
        s.add_all([Member(id=n, name=f"m{n}", address=_address(n)) for n in (1, 2, 3)])
        s.flush()
        s.add_all(
            [
                _ob("a", 1, 2, BIG, _at(day1, 0, 0)),  # first instant of the day
                _ob("b", 1, 2, BIG + 1, _at(day1, 23, 59), status="netted"),  # open-cycle trade counts
                _ob("c", 2, 1, 7, _at(day1, 12), status="accepted"),
                _ob("d", 1, 3, 5, _at(day2, 1), status="carried"),
                _ob("e", 1, 3, 11, _at(day2, 2), status="held"),  # not released: no flow
                _ob("f", 1, 3, 13, _at(day2, 3), status="rejected"),
                _ob("g", 1, 3, 17, _at(day2, 4), status="cancelled"),
                _ob("h", 1, 3, 19, _at(day2, 5), status="refunded"),
                _ob("i", 1, 3, 23, _at(day2, 6), status="queued_beyond_headroom"),
                _ob("j", 3, 1, 29, _at(day2, 7), status="escrow"),
                _ob("k", 1, 2, 31, _at(TODAY, 0)),  # today: after the window
                _ob("l", 1, 2, 37, _at(TODAY - timedelta(days=30), 23, 59)),  # before it
            ]
        )
        uow.commit()
    return db


def test_flows_are_exact_sums_per_member_and_utc_day(ledger):
    day1, day2 = TODAY - timedelta(days=3), TODAY - timedelta(days=1)
    with UnitOfWork.from_factory(ledger.sessions, read_only=True) as uow:
        flows = daily_flows(uow.session, start=TODAY - timedelta(days=29), end=TODAY)
    assert flows == {
        1: {day1: (7, 2 * BIG + 1), day2: (29, 5)},
        2: {day1: (2 * BIG + 1, 7)},
        3: {day2: (5, 29)},
    }


def test_only_the_members_asked_for(ledger):
    with UnitOfWork.from_factory(ledger.sessions, read_only=True) as uow:
        s = uow.session
        assert set(daily_flows(s, start=TODAY - timedelta(days=29), end=TODAY, member_ids=[3])) == {3}
        assert daily_flows(s, start=TODAY - timedelta(days=29), end=TODAY, member_ids=[]) == {}
        # the window's ends: [start, end) in whole UTC days
        assert daily_flows(s, start=TODAY, end=TODAY + timedelta(days=1), member_ids=[2]) == {2: {TODAY: (31, 0)}}
        with pytest.raises(ValueError):
            daily_flows(s, start=TODAY, end=TODAY - timedelta(days=1))


def test_trade_statuses_leave_out_exactly_what_never_flowed():
    left_out = set(ObligationStatus) - TRADE_STATUSES
    assert left_out == {"held", "rejected", "cancelled", "refunded", "queued_beyond_headroom"}
