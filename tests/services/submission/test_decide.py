"""Submission computes headroom once per member and moves it by the reserved net debit; the ledger's formula agrees."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from clearing.adapters.db.obligation_store import LockedMember
from clearing.domain.headroom import liquidity_of
from clearing.services.submission.decide import headroom_base

money = st.one_of(st.integers(0, 10**6), st.integers(0, 2**256 - 1))


@settings(max_examples=500, deadline=None)
@given(
    balance=st.one_of(st.integers(-(10**6), 10**6), st.integers(-(2**255), 2**255)),
    credit_line=money,
    chain_credit_limit=money,
    pending=money,
    reserved=st.lists(st.tuples(money, money), min_size=1, max_size=5),
)
def test_headroom_moves_exactly_by_the_reserved_net_debit(balance, credit_line, chain_credit_limit, pending, reserved):
    member = LockedMember(
        id=1,
        name="m",
        address="0x" + "1" * 40,
        tier="A",
        status="active",
        credit_line=credit_line,
        chain_balance=balance,
        chain_credit_limit=chain_credit_limit,
        pending_withdrawal=pending,
        reserved_debit=0,
        reserved_credit=0,
        obligation_seq=0,
    )
    base = headroom_base(member)
    for debit, credit in reserved:
        expected = liquidity_of(member, reserved_debit=debit, reserved_credit=credit).headroom
        assert base - max(0, debit - credit) == expected
