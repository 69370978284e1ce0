"""The credit pool's share arithmetic and rates, exactly as the contract computes them.

Lenders hold shares of the pool's equity ``poolTotal``. Conversions carry
virtual offsets (``VIRTUAL_SHARES`` shares and ``VIRTUAL_ASSETS`` asset, as
Morpho Blue does), so an empty pool has a price and no first depositor can
inflate it, and every conversion rounds against the one it pays: a deposit
mints shares rounded down, a withdrawal of assets burns shares rounded up, a
redemption of shares pays assets rounded down. The service uses these to say,
before a lender's wallet signs anything, what the contract will do.

Rates are annual, in basis points: borrowers pay ``base + slope × u`` with
utilisation ``u = drawn / total``; lenders earn what borrowers pay spread over
the whole pool, ``borrow × u`` (every unit of interest goes to the pool).

>>> shares = to_shares_down(1_000, total_assets=0, total_shares=0)
>>> shares
1000000000
>>> to_assets_down(shares, total_assets=1_000, total_shares=shares)
1000
>>> borrow_rate_bps(base_bps=300, slope_bps=1_700, drawn=500, total=1_000)
1150
>>> supply_rate_bps(borrow_bps=1_150, drawn=500, total=1_000)
575
"""

from __future__ import annotations

__all__ = [
    "BPS",
    "VIRTUAL_ASSETS",
    "VIRTUAL_SHARES",
    "borrow_rate_bps",
    "supply_rate_bps",
    "to_assets_down",
    "to_shares_down",
    "to_shares_up",
    "utilisation_bps",
]

#: Basis points in a whole.
BPS = 10_000
#: Virtual shares and assets added to both sides of every conversion (the contract's offsets).
VIRTUAL_SHARES = 10**6
VIRTUAL_ASSETS = 1


def to_shares_down(assets: int, *, total_assets: int, total_shares: int) -> int:
    """Shares ``assets`` buy (what ``poolDeposit`` mints): rounded down, against the depositor.

    >>> to_shares_down(1, total_assets=10**12, total_shares=10**6)
    0
    """
    return assets * (total_shares + VIRTUAL_SHARES) // (total_assets + VIRTUAL_ASSETS)


def to_shares_up(assets: int, *, total_assets: int, total_shares: int) -> int:
    """Shares ``poolWithdraw(assets)`` burns: rounded up, against the one withdrawing.

    >>> to_shares_up(1, total_assets=6, total_shares=2 * 10**6)  # 3e6 / 7 = 428571.4...
    428572
    """
    return -(-assets * (total_shares + VIRTUAL_SHARES) // (total_assets + VIRTUAL_ASSETS))


def to_assets_down(shares: int, *, total_assets: int, total_shares: int) -> int:
    """Assets ``shares`` are worth (what ``poolRedeem`` pays, what a position shows): rounded down.

    >>> to_assets_down(10**6, total_assets=1_000, total_shares=10**9)
    1
    """
    return shares * (total_assets + VIRTUAL_ASSETS) // (total_shares + VIRTUAL_SHARES)


def utilisation_bps(drawn: int, total: int) -> int:
    """``drawn / total`` in basis points, rounded down; 0 for an empty pool.

    >>> utilisation_bps(1, 3), utilisation_bps(5, 0)
    (3333, 0)
    """
    return drawn * BPS // total if total > 0 else 0


def borrow_rate_bps(*, base_bps: int, slope_bps: int, drawn: int, total: int) -> int:
    """Borrowers' annual rate: ``base + slope × drawn / total``, rounded down (the contract's ``borrowRateBps``).

    >>> borrow_rate_bps(base_bps=300, slope_bps=1_700, drawn=0, total=0)
    300
    """
    return base_bps + (slope_bps * drawn // total if total > 0 else 0)


def supply_rate_bps(*, borrow_bps: int, drawn: int, total: int) -> int:
    """What lenders earn a year on the whole pool: ``borrow × drawn / total``, rounded down.

    Before compounding: every unit borrowers are charged is added to the pool.

    >>> supply_rate_bps(borrow_bps=2_000, drawn=1, total=3)
    666
    """
    return borrow_bps * drawn // total if total > 0 else 0
