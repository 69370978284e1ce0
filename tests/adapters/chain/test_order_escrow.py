"""Tier-C per-order escrow through the typed client: fund, partial release,
refund, dispute and ruling, automatic release after the window."""

from __future__ import annotations

import pytest
from eth_utils import keccak

from clearing.errors import ChainReverted

from .conftest import new_member


def _funded_order(c, amount=1_000, window=3_600):
    debtor, creditor = new_member(c), new_member(c)
    c.token.mint(debtor.address, amount)
    c.token.approve(c.escrow.address, amount, sender=debtor)
    oid = keccak(text=f"order-{debtor.address}")
    c.escrow.fund(oid, creditor.address, amount, window, sender=debtor)
    return oid, debtor, creditor


def test_partial_release_refund_and_conservation(contracts):
    c = contracts
    oid, debtor, creditor = _funded_order(c)
    c.escrow.release(oid, 300, sender=debtor)
    c.escrow.refund(oid, 200, sender=creditor)
    o = c.escrow.order(oid)
    assert (o.released, o.refunded, o.remaining) == (300, 200, 500)
    assert c.token.balance_of(creditor.address) == 300 and c.token.balance_of(debtor.address) == 200
    assert c.token.balance_of(c.escrow.address) == c.escrow.total_remaining() == 500
    with pytest.raises(ChainReverted) as err:
        c.escrow.release(oid, 501, sender=debtor)
    assert err.value.error == "OrderEscrowExceedsRemaining" and err.value.error_args == ("0x" + oid.hex(), 500, 501)


def test_dispute_then_operator_ruling(embedded_contracts):
    c = embedded_contracts
    oid, debtor, creditor = _funded_order(c)
    c.escrow.dispute(oid, sender=debtor)
    c.chain.advance_time(7_200)
    with pytest.raises(ChainReverted) as err:
        c.escrow.claim(oid)
    assert err.value.error == "OrderEscrowDisputed"
    c.escrow.resolve_dispute(oid, 600, 400)
    assert c.token.balance_of(creditor.address) == 600 and c.token.balance_of(debtor.address) == 400
    assert c.escrow.order(oid).status == 3  # CLOSED


def test_undisputed_order_is_claimable_by_anyone_after_the_window(embedded_contracts):
    c = embedded_contracts
    oid, _debtor, creditor = _funded_order(c)
    stranger = new_member(c)
    with pytest.raises(ChainReverted) as err:
        c.escrow.claim(oid, sender=stranger)
    assert err.value.error == "OrderEscrowClaimTooEarly"
    c.chain.advance_time(3_601)
    c.escrow.claim(oid, sender=stranger)
    assert c.token.balance_of(creditor.address) == 1_000
    assert c.escrow.total_remaining() == 0
