from __future__ import annotations

import doctest
import importlib
import pkgutil

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import clearing.domain
from clearing.domain import errors
from clearing.domain.netting import bilateral_positions, net_positions, net_positions_array, validate_obligations
from clearing.domain.types import Obligation
from clearing.errors import ValidationError

from .strategies import MEMBERS, amounts, obligation_lists

PROP = settings(max_examples=60, deadline=None)


def _domain_modules():
    for info in pkgutil.iter_modules(clearing.domain.__path__):
        yield importlib.import_module(f"clearing.domain.{info.name}")


@pytest.mark.parametrize("module", list(_domain_modules()), ids=lambda m: m.__name__)
def test_docstring_examples_run(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def _reference(obs):
    pos = {}
    for o in obs:
        pos[o.debtor] = pos.get(o.debtor, 0) - o.amount
        pos[o.creditor] = pos.get(o.creditor, 0) + o.amount
    return pos


@PROP
@given(obligation_lists())
def test_conservation_and_reference(obs):
    pos = net_positions(obs)
    assert sum(pos.values()) == 0
    assert pos == _reference(obs)


@PROP
@given(obligation_lists(), st.randoms())
def test_order_invariance(obs, rnd):
    shuffled = list(obs)
    rnd.shuffle(shuffled)
    assert net_positions(shuffled) == net_positions(obs)
    assert bilateral_positions(shuffled) == bilateral_positions(obs)


@PROP
@given(obligation_lists(min_size=1), st.data())
def test_splitting_an_obligation_changes_nothing(obs, data):
    i = data.draw(st.integers(0, len(obs) - 1))
    o = obs[i]
    if o.amount < 2:
        o = Obligation(o.id, o.debtor, o.creditor, o.amount + 1)
        obs = obs[:i] + [o] + obs[i + 1 :]
    k = data.draw(st.integers(1, o.amount - 1))
    split = (
        obs[:i]
        + [
            Obligation(o.id + "-1", o.debtor, o.creditor, k),
            Obligation(o.id + "-2", o.debtor, o.creditor, o.amount - k),
        ]
        + obs[i + 1 :]
    )
    assert net_positions(split) == net_positions(obs)
    assert bilateral_positions(split) == bilateral_positions(obs)


@PROP
@given(obligation_lists())
def test_bilateral_sums_to_multilateral(obs):
    pos = {m: 0 for m in net_positions(obs)}
    for (x, y), owed in bilateral_positions(obs).items():
        assert x < y
        pos[x] -= owed
        pos[y] += owed
    assert pos == net_positions(obs)


@PROP
@given(obligation_lists(amount=st.integers(1, 10**12)), st.booleans())
def test_array_matches_reference_fast_path(obs, as_list):
    idx = {m: i for i, m in enumerate(MEMBERS)}
    d = [idx[o.debtor] for o in obs]
    c = [idx[o.creditor] for o in obs]
    a = [o.amount for o in obs] if as_list else np.array([o.amount for o in obs], dtype=np.int64)
    got = net_positions_array(d, c, a, len(MEMBERS))
    assert got.dtype == np.int64
    ref = net_positions(obs, members=MEMBERS)
    assert dict(zip(MEMBERS, got.tolist(), strict=True)) == ref


@PROP
@given(obligation_lists(min_size=1, amount=st.integers(2**63, 2**256 - 1)))
def test_array_matches_reference_big_ints(obs):
    idx = {m: i for i, m in enumerate(MEMBERS)}
    d = np.array([idx[o.debtor] for o in obs])
    c = np.array([idx[o.creditor] for o in obs])
    a = np.array([o.amount for o in obs], dtype=object)
    got = net_positions_array(d, c, a, len(MEMBERS))
    assert got.dtype == object
    assert dict(zip(MEMBERS, got.tolist(), strict=True)) == net_positions(obs, members=MEMBERS)


def test_array_int64_overflow_takes_exact_path():
    # Three amounts near 2**62: the int64 total would overflow; the limb path is exact.
    a = np.array([2**62 + 1, 2**62 + 3, 2**62 + 5], dtype=np.int64)
    got = net_positions_array([0, 0, 0], [1, 1, 2], a, 3)
    assert got.tolist() == [-(3 * 2**62 + 9), 2 * 2**62 + 4, 2**62 + 5]
    u = np.array([2**64 - 1, 2**64 - 1], dtype=np.uint64)
    assert net_positions_array([0, 1], [1, 2], u, 3).tolist() == [-(2**64 - 1), 0, 2**64 - 1]


def test_array_large_random_matches_bincount():
    rng = np.random.default_rng(7)
    n, m = 200_000, 300
    d = rng.integers(0, m, n)
    c = (d + rng.integers(1, m, n)) % m
    a = rng.integers(1, 10**9, n)
    got = net_positions_array(d, c, a, m)
    ref = np.bincount(c, weights=a, minlength=m) - np.bincount(d, weights=a, minlength=m)
    assert np.array_equal(got, ref.astype(np.int64))


@pytest.mark.parametrize(
    "args, error",
    [
        (([0], [0], [5], 2), errors.SelfObligation),
        (([0], [2], [5], 2), errors.UnknownMember),
        (([-1], [1], [5], 2), errors.UnknownMember),
        (([0], [1], [0], 2), errors.NonPositiveAmount),
        (([0], [1], [-3], 2), errors.NonPositiveAmount),
        (([0], [1], [2**256], 2), errors.AmountOutOfRange),
        (([0], [1], [1.5], 2), errors.NonPositiveAmount),
        (([0, 1], [1], [5, 5], 2), errors.InvalidObligation),
    ],
)
def test_array_rejects(args, error):
    with pytest.raises(error):
        net_positions_array(*args)


@pytest.mark.parametrize(
    "ob, error",
    [
        (Obligation("x", "a", "a", 1), errors.SelfObligation),
        (Obligation("x", "a", "b", 0), errors.NonPositiveAmount),
        (Obligation("x", "a", "b", -1), errors.NonPositiveAmount),
        (Obligation("x", "a", "b", True), errors.NonPositiveAmount),
        (Obligation("x", "a", "b", 1.0), errors.NonPositiveAmount),
        (Obligation("x", "a", "b", 2**256), errors.AmountOutOfRange),
        (Obligation("", "a", "b", 1), errors.InvalidObligation),
        (Obligation("x", "", "b", 1), errors.InvalidObligation),
        (Obligation("x", "a", "zz", 1), errors.UnknownMember),
    ],
)
def test_rejects_bad_obligations(ob, error):
    with pytest.raises(error) as info:
        net_positions([ob], members={"a", "b"})
    assert isinstance(info.value, ValidationError)


def test_rejects_duplicate_ids():
    with pytest.raises(errors.DuplicateObligation):
        validate_obligations([Obligation("x", "a", "b", 1), Obligation("x", "b", "a", 1)])


def test_members_set_lists_idle_members():
    assert net_positions([Obligation("1", "a", "b", 3)], members=["c", "b", "a"]) == {"a": -3, "b": 3, "c": 0}


@PROP
@given(amounts)
def test_uint256_edge(amount):
    assert net_positions([Obligation("1", "a", "b", amount)]) == {"a": -amount, "b": amount}
