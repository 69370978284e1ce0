"""The pool's share arithmetic: every conversion rounds against the one it pays (property tests)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from clearing.domain import pool_shares as ps

PROP = settings(max_examples=300, deadline=None)
UNITS = st.integers(min_value=0, max_value=10**30)


@st.composite
def pools(draw):
    """A pool state the contract can reach: shares minted against assets at some price, then interest or a loss."""
    assets = draw(UNITS)
    shares = ps.to_shares_down(assets, total_assets=0, total_shares=0)
    moved = draw(st.integers(min_value=-assets, max_value=10**30))
    return assets + moved, shares


@PROP
@given(pools(), UNITS)
def test_a_deposit_never_buys_more_than_it_pays_for(pool, assets):
    total, shares = pool
    minted = ps.to_shares_down(assets, total_assets=total, total_shares=shares)
    after_total, after_shares = total + assets, shares + minted
    assert ps.to_assets_down(minted, total_assets=after_total, total_shares=after_shares) <= assets


@PROP
@given(pools(), UNITS)
def test_a_withdrawal_burns_at_least_what_the_assets_are_worth(pool, assets):
    total, shares = pool
    burned = ps.to_shares_up(assets, total_assets=total, total_shares=shares)
    assert burned >= ps.to_shares_down(assets, total_assets=total, total_shares=shares)
    assert ps.to_assets_down(burned, total_assets=total, total_shares=shares) >= assets or burned == 0
    # one share fewer would not cover the assets
    if burned:
        assert (burned - 1) * (total + ps.VIRTUAL_ASSETS) < assets * (shares + ps.VIRTUAL_SHARES)


@PROP
@given(pools(), st.integers(min_value=0, max_value=10**36))
def test_redeeming_pays_at_most_the_shares_fair_value(pool, redeemed):
    total, shares = pool
    paid = ps.to_assets_down(redeemed, total_assets=total, total_shares=shares)
    assert paid * (shares + ps.VIRTUAL_SHARES) <= redeemed * (total + ps.VIRTUAL_ASSETS)


@PROP
@given(st.integers(0, 10_000), st.integers(0, 10_000), UNITS, UNITS)
def test_lenders_never_earn_more_than_borrowers_pay(base, slope, drawn, extra):
    total = drawn + extra
    borrow = ps.borrow_rate_bps(base_bps=base, slope_bps=slope, drawn=drawn, total=total)
    assert base <= borrow <= base + slope
    supply = ps.supply_rate_bps(borrow_bps=borrow, drawn=drawn, total=total)
    # interest paid a year (drawn × borrow) covers what lenders are shown on the whole pool (total × supply)
    assert total * supply <= drawn * borrow
    assert ps.utilisation_bps(drawn, total) <= ps.BPS
