"""Hypothesis strategies shared by the domain tests."""

from __future__ import annotations

from hypothesis import strategies as st

from clearing.domain.types import Obligation

MEMBERS = ("a", "b", "c", "d", "e", "f")

#: Small amounts (int64 fast paths) and huge ones (beyond 2**64, up to uint256).
amounts = st.one_of(st.integers(1, 10**6), st.integers(2**64, 2**256 - 1))
small_amounts = st.integers(1, 1000)


@st.composite
def obligation_lists(draw, *, min_size=0, max_size=30, members=MEMBERS, amount=amounts, priority=False):
    n = draw(st.integers(min_size, max_size))
    out = []
    for i in range(n):
        debtor = draw(st.sampled_from(members))
        creditor = draw(st.sampled_from([m for m in members if m != debtor]))
        prio = draw(st.booleans()) if priority else False
        out.append(Obligation(f"o{i}", debtor, creditor, draw(amount), prio))
    return out
