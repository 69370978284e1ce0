"""The arithmetic of a replacement's fees, and the docstring examples of the writer's modules."""

from __future__ import annotations

import doctest

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearing.adapters.db import lease
from clearing.services import outbox, tx_sender
from clearing.services.tx_sender import bump_fees

wei = st.integers(0, 10**30)


@pytest.mark.parametrize("module", [tx_sender, outbox, lease], ids=lambda m: m.__name__)
def test_docstring_examples_run(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


@settings(max_examples=300, deadline=None)
@given(cap=wei, tip=wei, market_cap=wei, market_tip=wei)
def test_both_fees_rise_at_least_an_eighth_and_to_the_market(cap, tip, market_cap, market_tip):
    old = {"maxFeePerGas": cap, "maxPriorityFeePerGas": tip}
    new = bump_fees(old, {"maxFeePerGas": market_cap, "maxPriorityFeePerGas": market_tip})
    for field, market in (("maxFeePerGas", market_cap), ("maxPriorityFeePerGas", market_tip)):
        assert new[field] * 8 >= old[field] * 9 and new[field] >= market  # nodes want +10%: this is +12.5%
        assert all(isinstance(v, int) for v in new.values())
    assert new["maxFeePerGas"] >= new["maxPriorityFeePerGas"]


@settings(max_examples=100, deadline=None)
@given(price=wei, market=wei)
def test_a_legacy_gas_price_rises_the_same_way(price, market):
    (new,) = bump_fees({"gasPrice": price}, {"gasPrice": market}).values()
    assert new * 8 >= price * 9 and new >= market and new <= max(market, -(-price * 9 // 8))
