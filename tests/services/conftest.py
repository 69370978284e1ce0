"""A real ledger (SQLite file or PostgreSQL schema) joined to a real chain."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from clearing.adapters.chain import backends
from clearing.adapters.chain.deploy import Contracts, deploy
from clearing.bootstrap import build_service
from clearing.dev import admit_funded_member
from clearing.services import chain_sync
from clearing.services.context import ServiceContext
from clearing.services.keys import Principal
from clearing.settings import Settings


@dataclass
class House:
    ctx: ServiceContext
    contracts: Contracts
    principals: dict[str, Principal]
    keys: dict[str, object]


@pytest.fixture
def db_url(db) -> str:
    """A migrated, empty ledger on each backend in turn (tests/conftest.py's ``db``)."""
    return db.url


def build_house(
    db_url: str, chain: backends.Chain, spec: list[tuple[str, str, int, int]], settings: Settings | None = None
) -> House:
    dep = deploy(chain, network=chain.name)
    c = Contracts.attach(chain, dep)
    ctx = build_service(settings or Settings(database_url=db_url), contracts=c)
    op = Principal(role="operator", key_id=None)
    keys, principals = {}, {}
    for i, (name, tier, collateral, credit) in enumerate(spec):
        keys[name] = chain.accounts[i + 1]
        principals[name] = admit_funded_member(
            ctx, c, op, keys[name], name=name, tier=tier, collateral=collateral, credit_line=credit
        )
    lender = chain.accounts[9]
    c.token.mint(lender.address, 10**12)
    c.token.approve(c.house.address, 10**12, sender=lender)
    c.house.pool_deposit(10**12, sender=lender)
    chain_sync.sync(ctx.sessions, c)
    return House(ctx=ctx, contracts=c, principals=principals, keys=keys)
