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


def _member(id: int, name: str, tier: str, balance: int) -> LockedMember:
    return LockedMember(id, name, f"0x{id:040x}", tier, "active", 0, balance, 0, 0, 0, 0, 0)


@settings(max_examples=200, deadline=None)
@given(
    tiers=st.lists(st.sampled_from("ABC"), min_size=3, max_size=3),
    pairs=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2)).filter(lambda p: p[0] != p[1]), max_size=12),
    amounts=st.lists(st.integers(1, 10**6), min_size=12, max_size=12),
)
def test_each_item_is_decided_as_if_alone_in_order(tiers, pairs, amounts):
    """A member met first as a creditor and later as a debtor (group commit of independent
    requests does this) is routed by its own tier; a batch decides as the items one by one."""
    from clearing.domain import risk
    from clearing.services.submission.decide import decide
    from clearing.services.submission.history import DebtorHistory
    from clearing.services.submission.types import ObligationInput

    def fresh() -> list[LockedMember]:
        return [_member(i + 1, f"m{i}", t, 3 * 10**6) for i, t in enumerate(tiers)]

    def histories() -> dict[int, DebtorHistory]:
        return {i + 1: DebtorHistory(known={f"m{j}" for j in range(3)}, known_ids=set()) for i in range(3)}

    rules = risk.evaluator(risk.RiskConfig(), 1_000)
    members = fresh()
    items = [
        (ObligationInput(f"o{k}", f"m{d}", f"m{c}", amounts[k]), members[d], members[c], "h", d + 1)
        for k, (d, c) in enumerate(pairs)
    ]
    together = decide(items, members, histories(), rules, count_history=True)
    # One by one: each item decided alone against the sums the earlier ones left behind.
    alone_members, alone_hist, statuses = fresh(), histories(), []
    for it, d, c, h, by in items:
        one = decide([(it, alone_members[d.id - 1], alone_members[c.id - 1], h, by)], alone_members, alone_hist, rules,
                     count_history=True)  # fmt: skip
        statuses.append((one.rows[0].status, one.rows[0].route, one.rows[0].shortfall))
        for m in alone_members:
            m.reserved_debit, m.reserved_credit, m.obligation_seq = one.debit[m.id], one.credit[m.id], one.seq[m.id]
    assert [(r.status, r.route, r.shortfall) for r in together.rows] == statuses
    assert [r.route for r in together.rows] == [risk.settlement_route(tiers[d]) for d, _ in pairs]
