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
    c.send_gas(acct.address)
    c.house.admit(acct.address, credit)
    if collateral:
        c.fund_member(acct, collateral)
    return acct
