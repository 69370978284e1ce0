"""Drive the contracts through the typed client on the in-process EVM and on Anvil.

Reverts must surface as ``ChainReverted`` naming the custom error and its values.
"""

from __future__ import annotations

import pytest

from clearing.adapters.chain.client import OPERATOR_ROLE
from clearing.domain.merkle import MerkleTree, leaf_hash, obligation_key
from clearing.domain.netting import net_positions
from clearing.domain.types import Obligation
from clearing.errors import ChainReverted

from .conftest import new_member


def _house_conserves(c) -> None:
    """Σ balances + pool + escrow == token held (docs/architecture.md, "On-chain invariants")."""
    held = c.token.balance_of(c.house.address)
    total = c.house.total_balances()
    assert total + c.house.pool_total() + c.house.total_escrowed() == held


def test_deposit_and_withdraw_free_balance(contracts):
    c = contracts
    m = new_member(c, collateral=1_000)
    assert c.house.balance_of(m.address) == 1_000
    c.house.withdraw(400, m.address, sender=m)
    assert c.house.balance_of(m.address) == 600
    assert c.token.balance_of(m.address) == 400
    with pytest.raises(ChainReverted) as err:
        c.house.withdraw(601, m.address, sender=m)
    assert err.value.error == "ClearingHouseInsufficientBalance"
    assert err.value.error_args == (m.address, 600, 601)
    _house_conserves(c)


def test_cycle_commit_release_and_proofs(contracts):
    c = contracts
    a, b, d = (new_member(c, collateral=10_000) for _ in range(3))
    obs = [
        Obligation("x1", a.address, b.address, 700),
        Obligation("x2", b.address, d.address, 300),
        Obligation("x3", d.address, a.address, 100),
    ]
    deltas = net_positions(obs)
    leaves = [leaf_hash(5, obligation_key(o.debtor, o.id), o.debtor, o.creditor, o.amount) for o in obs]
    tree = MerkleTree(leaves)
    res = c.house.commit_cycle(5, tree.root, 3, 1_100, deltas)
    assert res.named("CycleCommitted")[0].args["escrowed"] == sum(-v for v in deltas.values() if v < 0)
    with pytest.raises(ChainReverted) as err:
        c.house.commit_cycle(5, tree.root, 3, 1_100, deltas)
    assert err.value.error == "ClearingHouseCycleExists" and err.value.error_args == (5,)

    c.house.release_cycle(5, {m: v for m, v in deltas.items() if v > 0})
    for m, v in deltas.items():
        assert c.house.balance_of(m) == 10_000 + v
    assert c.house.cycle(5).escrowed == 0 and c.house.cycle(5).status == 2  # SETTLED
    for o, leaf in zip(obs, leaves, strict=True):
        assert c.house.verify_obligation(
            5, obligation_key(o.debtor, o.id), o.debtor, o.creditor, o.amount, tree.proof(leaf)
        )
    tampered = obs[0]
    assert not c.house.verify_obligation(
        5,
        obligation_key(tampered.debtor, tampered.id),
        tampered.debtor,
        tampered.creditor,
        tampered.amount + 1,
        tree.proof(leaves[0]),
    )
    _house_conserves(c)


def test_commit_beyond_headroom_names_member_and_amounts(contracts):
    c = contracts
    a = new_member(c, collateral=100)
    b = new_member(c)
    with pytest.raises(ChainReverted) as err:
        c.house.commit_cycle(9, b"\x01" * 32, 1, 150, {a.address: -150, b.address: 150})
    assert err.value.error == "ClearingHouseInsufficientHeadroom"
    assert err.value.error_args == (a.address, 100, 150)
    assert c.house.cycle(9).status == 0


def test_credit_drawn_from_pool_and_partial_release_then_refund(contracts):
    c = contracts
    lender = new_member(c)
    c.token.mint(lender.address, 5_000)
    c.token.approve(c.house.address, 5_000, sender=lender)
    c.house.pool_deposit(5_000, sender=lender)
    a = new_member(c, credit=1_000)  # no collateral, credit only
    b = new_member(c)
    c.house.commit_cycle(11, b"\x02" * 32, 1, 800, {a.address: -800, b.address: 800})
    assert c.house.balance_of(a.address) == -800
    assert c.house.credit_drawn() == 800
    c.house.release_cycle(11, {b.address: 300})  # partial
    assert c.house.pending_credit(11, b.address) == 500
    # the rest goes back (a refund repeats the committed deltas)
    c.house.refund_cycle(11, {a.address: -800, b.address: 800}, {b.address: 500}, {a.address: 500})
    assert c.house.balance_of(a.address) == -300
    assert c.house.balance_of(b.address) == 300
    assert c.house.cycle(11).escrowed == 0
    with pytest.raises(ChainReverted) as err:
        c.house.pool_withdraw(4_800, lender.address, sender=lender)
    assert err.value.error == "ClearingHouseInsufficientLiquidity"
    _house_conserves(c)


def test_held_cycle_can_be_claimed_by_anyone_after_deadline(embedded_contracts):
    c = embedded_contracts
    a = new_member(c, collateral=1_000)
    b = new_member(c)
    c.house.commit_cycle(3, b"\x03" * 32, 1, 500, {a.address: -500, b.address: 500})
    now = c.chain.w3.eth.get_block("latest")["timestamp"]
    c.house.hold_cycle(3, now + 3600)
    with pytest.raises(ChainReverted) as err:
        c.house.release_cycle(3, {b.address: 500})
    assert err.value.error == "ClearingHouseCycleHeld"
    with pytest.raises(ChainReverted) as err:
        c.house.claim(3, b.address, sender=b)
    assert err.value.error == "ClearingHouseCycleHeld"
    c.chain.advance_time(2 * 3600)  # hold over, but the claim delay (3 days) is not
    with pytest.raises(ChainReverted) as err:
        c.house.claim(3, b.address, sender=b)
    assert err.value.error == "ClearingHouseClaimTooEarly"
    c.chain.advance_time(4 * 24 * 3600)
    c.house.claim(3, b.address, sender=b)  # not the operator: funds never stuck
    assert c.house.balance_of(b.address) == 500


def test_only_operator_commits(contracts):
    c = contracts
    outsider = new_member(c)
    assert not c.house.has_role(OPERATOR_ROLE, outsider.address)
    with pytest.raises(ChainReverted) as err:
        c.house.commit_cycle(1, b"\x00" * 32, 0, 0, {}, sender=outsider)
    assert err.value.error == "AccessControlUnauthorizedAccount"
    assert err.value.error_args == (outsider.address, "0x" + OPERATOR_ROLE.hex())


def test_paused_blocks_movement_but_recovery_pays_the_member(embedded_contracts):
    c = embedded_contracts
    m = new_member(c, collateral=900)
    c.house.pause()
    with pytest.raises(ChainReverted) as err:
        c.house.withdraw(1, m.address, sender=m)
    assert err.value.error == "EnforcedPause"
    c.house._send("recoverMember", m.address)
    assert c.token.balance_of(m.address) == 900
    assert c.house.balance_of(m.address) == 0
    _house_conserves(c)
