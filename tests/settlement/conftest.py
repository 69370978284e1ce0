"""A real ledger (SQLite file or PostgreSQL schema) joined to a real chain."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass

import pytest
from sqlalchemy import create_engine, text

from clearing.adapters.chain import backends
from clearing.adapters.chain.deploy import Contracts, deploy
from clearing.adapters.db import migrate
from clearing.services import chain_sync, members
from clearing.services.chain_ops import HouseChainOperations
from clearing.services.context import ServiceContext
from clearing.services.keys import Principal
from clearing.services.signatures import SigningDomain

PG_URL = os.environ.get("CLEARING_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@dataclass
class House:
    ctx: ServiceContext
    contracts: Contracts
    principals: dict[str, Principal]
    keys: dict[str, object]


def _sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    migrate(url)
    yield url


def _postgres():
    if PG_URL == "skip":
        pytest.skip("CLEARING_TEST_POSTGRES_URL=skip")
    db = f"clearing_settle_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{db}"'))
    url = PG_URL.rsplit("/", 1)[0] + f"/{db}"
    migrate(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{db}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    gen = _sqlite(tmp_path) if request.param == "sqlite" else _postgres()
    yield next(gen)
    next(gen, None)


def build_house(db_url: str, chain: backends.Chain, spec: list[tuple[str, str, int, int]]) -> House:
    dep = deploy(chain, network=chain.name)
    c = Contracts.attach(chain, dep)
    ctx = ServiceContext.build(url=db_url, signing_domain=SigningDomain(chain_id=chain.chain_id,
                                                                        verifying_contract=dep.clearing_house))
    ctx.chain = HouseChainOperations(ctx.sessions, c)
    op = Principal(role="operator", key_id=None)
    keys, principals = {}, {}
    for i, (name, tier, collateral, credit) in enumerate(spec):
        keys[name] = chain.accounts[i + 1]
        adm = members.admit(ctx, op, name=name, address=keys[name].address, tier=tier, credit_line=credit)
        if collateral:
            c.fund_member(keys[name], collateral)
        principals[name] = Principal(role="member", key_id=None, member_id=adm.member.id, member_name=name,
                                     member_address=keys[name].address)
    lender = chain.accounts[9]
    c.token.mint(lender.address, 10**12)
    c.token.approve(c.house.address, 10**12, sender=lender)
    c.house.pool_deposit(10**12, sender=lender)
    chain_sync.sync(ctx.sessions, c)
    return House(ctx=ctx, contracts=c, principals=principals, keys=keys)
