"""A ledger belongs to one chain and deployment; started against any other it refuses, and keeps every row.

Two fresh Anvils share chain id, house address and deployment block (addresses
follow from the dev key's nonces), so these tests pin their genesis
timestamps apart and check that nothing but the genesis hash differs.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import delete, func, select

from clearing.adapters.chain import backends
from clearing.adapters.chain.deploy import Contracts, deploy
from clearing.adapters.db.models import LedgerBinding, Member
from clearing.bootstrap import build_service
from clearing.errors import LedgerMismatch
from clearing.services import ledger_binding, members
from clearing.settings import ChainSettings, Settings
from tests.conftest import OPERATOR
from tests.services.conftest import build_house

pytestmark = pytest.mark.anvil


@pytest.fixture
def two_anvils():
    """Two fresh Anvils, genesis timestamps apart; each house is deployed first thing (as `clearing deploy` does)."""
    a, b = (backends.spawn_anvil(extra_args=("--timestamp", str(t))) for t in (1_700_000_000, 1_700_000_100))
    yield a, b
    a.close()
    b.close()


def _fresh_deploy(chain: backends.Chain) -> Contracts:
    return Contracts.attach(chain, deploy(chain, network="anvil"))


def _members(db_url: str) -> int:
    ctx = build_service(Settings(database_url=db_url), with_chain=False)
    with ctx.uow(read_only=True) as uow:
        return uow.session.scalar(select(func.count()).select_from(Member)) or 0


def test_a_ledger_bound_to_one_anvil_refuses_another(db_url, two_anvils):
    house = build_house(db_url, two_anvils[0], [("alpha", "A", 10**9, 0), ("beta", "B", 10**9, 0)])
    ca, cb = house.contracts, _fresh_deploy(two_anvils[1])
    assert (ca.chain.chain_id, ca.house.address, ca.deployment.block) == (
        cb.chain.chain_id,
        cb.house.address,
        cb.deployment.block,
    )
    house.ctx.cycles.settle()
    build_service(Settings(database_url=db_url), contracts=ca)  # a restart on its own chain is fine

    with pytest.raises(LedgerMismatch) as refused:
        build_service(Settings(database_url=db_url), contracts=cb)
    message = refused.value.message
    assert "\n" not in message
    assert ca.chain.genesis_hash()[:12] in message and cb.chain.genesis_hash()[:12] in message
    assert "CLEARING_DATABASE_URL" in message and "CLEARING_CHAIN__RPC_URL" in message
    assert _members(db_url) == 2  # nothing deleted
    assert ledger_binding.read(build_service(Settings(database_url=db_url), with_chain=False).sessions).same_as(
        ledger_binding.ChainBinding.of(ca)
    )


def test_a_ledger_bound_to_an_embedded_chain_refuses_the_next_one(db_url):
    first = backends.embedded()
    ca = Contracts.attach(first, deploy(first, network="embedded"))
    ctx = build_service(Settings(database_url=db_url), contracts=ca)
    ctx.cycles.settle()
    genesis = first.w3.eth.get_block(0)["timestamp"]
    while int(time.time()) <= genesis:  # a later second: the next chain's genesis differs
        time.sleep(0.05)
    second = backends.embedded()
    cb = Contracts.attach(second, deploy(second, network="embedded"))
    with pytest.raises(LedgerMismatch):
        build_service(Settings(database_url=db_url), contracts=cb)
    # The configured embedded backend starts a new chain in this process: refused whatever its hashes.
    with pytest.raises(LedgerMismatch, match="starts a new chain in this process"):
        build_service(Settings(database_url=db_url, chain=ChainSettings(backend="embedded")))


def test_a_ledger_from_before_bindings_is_checked_by_its_chain_history(db_url, two_anvils):
    house = build_house(db_url, two_anvils[0], [("alpha", "A", 10**9, 0)])
    ca, cb = house.contracts, _fresh_deploy(two_anvils[1])
    with house.ctx.uow() as uow:  # as a ledger migrated from before ledger_binding existed
        uow.session.execute(delete(LedgerBinding))
        uow.commit()
    with pytest.raises(LedgerMismatch, match="has not mined"):
        build_service(Settings(database_url=db_url), contracts=cb)
    build_service(Settings(database_url=db_url), contracts=ca)  # its own chain mined it: bound now
    assert ledger_binding.read(house.ctx.sessions).same_as(ledger_binding.ChainBinding.of(ca))


def test_an_empty_ledger_binds_to_the_first_chain_and_ledger_only_houses_never_bind(db_url, two_anvils):
    cb = _fresh_deploy(two_anvils[1])
    ctx = build_service(Settings(database_url=db_url), with_chain=False)
    members.admit(ctx, OPERATOR, name="alpha", address="0x" + "11" * 20, tier="A", credit_line=0)
    assert ledger_binding.read(ctx.sessions) is None
    build_service(Settings(database_url=db_url), contracts=cb)
    assert ledger_binding.read(ctx.sessions).same_as(ledger_binding.ChainBinding.of(cb))
