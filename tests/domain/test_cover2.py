"""Cover 2 (domain): exposures, the two largest, the loss against the pool; properties recomputed by brute force."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearing.domain.cover2 import BPS, MemberExposure, assess
from clearing.errors import ValidationError

PROP = settings(max_examples=200, deadline=None)
#: Small amounts (ties are likely) and uint256-sized ones (exact past 2^64).
amount = st.one_of(st.integers(0, 50), st.integers(2**64, 2**256 - 1))


@st.composite
def ledgers(draw, max_size=8):
    names = draw(st.lists(st.text("abcdefgh", min_size=1, max_size=3), unique=True, max_size=max_size))
    return [MemberExposure(n, draw(amount), draw(amount), draw(amount)) for n in names]


def test_exposure_is_drawn_plus_in_flight_less_collateral_never_negative():
    assert MemberExposure("a", drawn=700, in_flight_net_debit=300, collateral=0).exposure == 1_000
    assert MemberExposure("a", drawn=0, in_flight_net_debit=300, collateral=100).exposure == 200
    assert MemberExposure("a", drawn=0, in_flight_net_debit=300, collateral=300).exposure == 0
    assert MemberExposure("a", drawn=0, in_flight_net_debit=0, collateral=10**30).exposure == 0


def test_the_two_largest_against_the_pool_at_the_boundary():
    ms = [
        MemberExposure("alpha", 600, 0, 0),
        MemberExposure("beta", 0, 500, 100),  # 400
        MemberExposure("gamma", 100, 200, 0),  # 300
    ]
    exact = assess(ms, resources=1_000)
    assert [m.name for m in exact.members] == ["alpha", "beta"]
    assert (exact.loss, exact.covered, exact.coverage_bps, exact.surplus) == (1_000, True, BPS, 0)
    short = assess(ms, resources=999)
    assert (short.covered, short.coverage_bps, short.surplus) == (False, 9_990, -1)


def test_ties_are_broken_by_name_whatever_the_order_given():
    ms = [MemberExposure(n, 10, 0, 0) for n in ("delta", "bravo", "charlie", "alpha")]
    for order in itertools.permutations(ms):
        assert [m.name for m in assess(order, 5).members] == ["alpha", "bravo"]


def test_fewer_than_two_exposed_names_only_those():
    one = assess([MemberExposure("a", 0, 5, 0), MemberExposure("b", 0, 5, 10)], resources=4)
    assert [m.name for m in one.members] == ["a"] and (one.loss, one.covered, one.coverage_bps) == (5, False, 8_000)
    none = assess([MemberExposure("b", 0, 5, 10)], resources=0)
    assert none.members == () and none.loss == 0 and none.covered and none.coverage_bps is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"drawn": -1}, "drawn"),
        ({"in_flight_net_debit": 1.0}, "in_flight_net_debit"),
        ({"collateral": True}, "collateral"),
    ],
)
def test_inputs_are_non_negative_integers(kwargs, field):
    values = {"drawn": 0, "in_flight_net_debit": 0, "collateral": 0, **kwargs}
    with pytest.raises(ValidationError) as err:
        MemberExposure("a", **values)
    assert err.value.field == field


def test_resources_and_duplicate_members_are_refused():
    with pytest.raises(ValidationError) as err:
        assess([], resources=-1)
    assert err.value.field == "resources"
    with pytest.raises(ValidationError) as err:
        assess([MemberExposure("a", 1, 0, 0), MemberExposure("a", 2, 0, 0)], resources=0)
    assert err.value.field == "members"


@PROP
@given(ledgers(), amount)
def test_the_loss_is_the_largest_of_any_pair(ms, resources):
    r = assess(ms, resources)
    exposures = [m.exposure for m in ms]
    # recomputed by brute force: the best pair (or one, or none), over every choice of at most two members
    best = max([0, *exposures, *(a + b for a, b in itertools.combinations(exposures, 2))])
    assert r.loss == best == sum(m.exposure for m in r.members)
    for a, b in itertools.combinations(ms, 2):
        assert r.loss >= a.exposure + b.exposure
    assert all(m.exposure > 0 for m in r.members) and len(r.members) <= 2
    assert len({m.name for m in r.members}) == len(r.members)
    assert r.covered == (r.surplus >= 0) == (r.loss <= resources)
    if r.loss:
        assert r.coverage_bps is not None and r.coverage_bps * r.loss <= resources * BPS < (r.coverage_bps + 1) * r.loss
        assert r.covered == (r.coverage_bps >= BPS)
    else:
        assert r.coverage_bps is None and r.covered


@PROP
@given(ledgers(), amount, st.randoms())
def test_the_answer_does_not_depend_on_the_order_of_members(ms, resources, rnd):
    shuffled = list(ms)
    rnd.shuffle(shuffled)
    assert assess(shuffled, resources) == assess(ms, resources)


@PROP
@given(ledgers(), amount, st.integers(0, 2**70))
def test_more_collateral_or_more_resources_never_uncovers(ms, resources, extra):
    before = assess(ms, resources)
    assert assess(ms, resources + extra).covered >= before.covered
    if ms:
        richer = [MemberExposure(m.name, m.drawn, m.in_flight_net_debit, m.collateral + extra) for m in ms]
        after = assess(richer, resources)
        assert after.loss <= before.loss and after.covered >= before.covered
