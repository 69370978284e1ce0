"""Chain fixtures: the real in-process EVM and a real Anvil on a free port."""

from __future__ import annotations

import pytest
from eth_account import Account

from clearing.adapters.chain import backends
from clearing.adapters.chain.deploy import Contracts, deploy


@pytest.fixture(scope="session")
def anvil_chain():
    chain = backends.spawn_anvil()
    yield chain
    chain.close()


@pytest.fixture(params=["embedded", "anvil"])
def contracts(request) -> Contracts:
    chain = backends.embedded() if request.param == "embedded" else request.getfixturevalue("anvil_chain")
    dep = deploy(chain, network=f"test-{request.param}")
    return Contracts.attach(chain, dep)


@pytest.fixture
def embedded_contracts() -> Contracts:
    chain = backends.embedded()
    return Contracts.attach(chain, deploy(chain, network="test-embedded"))


def new_member(c: Contracts, *, credit: int = 0, collateral: int = 0, seed: int | None = None):
    """An admitted member with its own key, gas money and optional collateral."""
    acct = Account.create() if seed is None else Account.from_key(seed.to_bytes(32, "big"))
    w3 = c.chain.w3
    funder = c.chain.accounts[0]
    from clearing.adapters.chain.client import _nonces_for

    tx = {"to": acct.address, "value": 10**18, "gas": 21000, "chainId": c.chain.chain_id,
          "maxFeePerGas": 10**11, "maxPriorityFeePerGas": 10**9,
          "nonce": _nonces_for(c.chain).next(w3, funder.address)}
    w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(funder.sign_transaction(tx).raw_transaction))
    c.house.admit(acct.address, credit)
    if collateral:
        c.fund_member(acct, collateral)
    return acct
