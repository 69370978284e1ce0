"""The real app on a real ledger; members with real keys and EVM accounts."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
import uvicorn
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient
from sqlalchemy import Row, select

from clearing.adapters.chain import backends
from clearing.adapters.chain.client import TxResult
from clearing.adapters.chain.deploy import Contracts, deploy
from clearing.adapters.db.models import SettlementTx, TxState
from clearing.api.app import create_app
from clearing.bootstrap import build_service
from clearing.dev import admit_funded_member
from clearing.services import chain_sync, members
from clearing.services.context import ServiceContext
from clearing.services.signatures import SigningDomain, sign_obligation
from clearing.settings import ApiSettings, ChainSettings, Settings
from tests.conftest import OPERATOR, admit_member, ledger_house

OPERATOR_KEY = "cho_test-operator-key"
AUDITOR_KEY = "cha_test-auditor-key"
DOMAIN = SigningDomain(chain_id=31337, verifying_contract="0x" + "c1" * 20)


@dataclass
class House:
    ctx: ServiceContext
    client: TestClient
    keys: dict[str, str] = field(default_factory=dict)
    accounts: dict[str, object] = field(default_factory=dict)

    def planned(self) -> list[Row]:
        """The outbox rows left planned (this house has no chain), oldest first: id, kind, member_id, amount."""
        t = SettlementTx
        with self.ctx.uow(read_only=True) as uow:
            return list(
                uow.session.execute(
                    select(t.id, t.kind, t.member_id, t.amount).where(t.state == TxState.PLANNED).order_by(t.id)
                )
            )

    def headers(self, who: str) -> dict[str, str]:
        key = {"operator": OPERATOR_KEY, "auditor": AUDITOR_KEY}.get(who) or self.keys[who]
        return {"Authorization": f"Bearer {key}"}

    def add(self, name: str, *, tier: str = "A", collateral: int = 10**24, credit: int = 0) -> str:
        done = admit_member(self.ctx, name, collateral=collateral, credit=credit, tier=tier)
        self.keys[name] = done.api_key
        self.accounts[name] = done.account
        return done.api_key

    def sign(
        self, debtor: str, *, id: str, creditor: str, amount: int, reference: str = "", on_behalf_of: str | None = None
    ) -> str:
        acct = self.accounts[debtor]
        return sign_obligation(
            DOMAIN,
            acct.key,
            id=id,
            debtor=acct.address,
            creditor=self.accounts[creditor].address,
            amount=amount,
            reference=reference,
            on_behalf_of=on_behalf_of,
        )

    def post(self, who: str, path: str, json: object):
        return self.client.post(path, json=json, headers=self.headers(who))

    def get(self, who: str, path: str):
        return self.client.get(path, headers=self.headers(who))


def api_house(database) -> ServiceContext:
    """The service without a chain: its outbox plans every chain call and leaves it planned."""
    settings = Settings(
        database_url=database.url,
        api=ApiSettings(operator_key=OPERATOR_KEY, auditor_key=AUDITOR_KEY, auth_cache_seconds=0),
        chain=ChainSettings(chain_id=DOMAIN.chain_id, verifying_contract=DOMAIN.verifying_contract),
    )
    return ledger_house(database, settings)


def _three_members(database) -> Iterator[House]:
    ctx = api_house(database)
    with TestClient(create_app(ctx), raise_server_exceptions=False) as client:
        h = House(ctx=ctx, client=client)
        h.add("alpha")
        h.add("beta")
        h.add("gamma")
        yield h


@pytest.fixture
def house(db) -> Iterator[House]:
    yield from _three_members(db)


@pytest.fixture
def sqlite_house(sqlite_db) -> Iterator[House]:
    yield from _three_members(sqlite_db)


def chain_api_house(
    database, *, collateral: int = 10**12, auth_failure_limit: str = ApiSettings().auth_failure_limit
) -> tuple[ServiceContext, dict[str, str]]:
    """The whole service on a fresh in-process chain (cycles, audit and EIP-712 answer as in production),
    with members alpha and beta (dev accounts 1 and 2) funded on chain; their API keys by name."""
    chain = backends.embedded()
    contracts = Contracts.attach(chain, deploy(chain, network="embedded"))
    settings = Settings(
        database_url=database.url,
        api=ApiSettings(
            operator_key=OPERATOR_KEY,
            auditor_key=AUDITOR_KEY,
            auth_cache_seconds=0,
            auth_failure_limit=auth_failure_limit,
        ),
    )
    ctx = build_service(settings, engine=database.engine, contracts=contracts)
    keys = {}
    for i, name in enumerate(("alpha", "beta"), start=1):
        admit_funded_member(ctx, contracts, OPERATOR, chain.accounts[i], name=name, tier="A", collateral=collateral)
        keys[name] = members.issue_key(ctx, OPERATOR, name, "tests")
    chain_sync.sync(ctx.sessions, contracts)
    return ctx, keys


@pytest.fixture
def chain_house(db) -> House:
    """``House`` over the whole service on an in-process chain, on each ledger backend in turn."""
    ctx, keys = chain_api_house(db)
    with TestClient(create_app(ctx), raise_server_exceptions=False) as client:
        yield House(
            ctx=ctx, client=client, keys=keys, accounts=dict(zip(keys, ctx.contracts.chain.accounts[1:3], strict=True))
        )


@contextmanager
def serve(app) -> Iterator[str]:
    """Run ``app`` under a real uvicorn on a free loopback port; yields its base URL."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=backends.free_port(), log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


# --------------------------------------------------------------------------- a house on a real chain


@dataclass
class ChainHouse:
    """The app on a real ledger joined to a real (in-process) chain, members funded from their own keys."""

    ctx: ServiceContext
    client: TestClient
    contracts: Contracts
    keys: dict[str, str] = field(default_factory=dict)
    accounts: dict[str, LocalAccount] = field(default_factory=dict)

    def headers(self, who: str) -> dict[str, str]:
        key = {"operator": OPERATOR_KEY, "auditor": AUDITOR_KEY}.get(who) or self.keys[who]
        return {"Authorization": f"Bearer {key}"}

    def post(self, who: str, path: str, json: object = None):
        return self.client.post(path, json=json, headers=self.headers(who))

    def get(self, who: str, path: str):
        return self.client.get(path, headers=self.headers(who))

    def add(self, name: str, account: int, *, tier: str = "A", collateral: int = 0, credit: int = 0) -> None:
        acct = self.contracts.chain.accounts[account]
        r = self.post(
            "operator", "/members", {"name": name, "address": acct.address, "tier": tier, "credit_line": str(credit)}
        )
        assert r.status_code == 201, r.text
        self.keys[name], self.accounts[name] = r.json()["api_key"], acct
        if collateral:
            self.contracts.fund_member(acct, collateral)
        self.sync()

    def sync(self) -> None:
        chain_sync.sync(self.ctx.sessions, self.contracts)

    def balance(self, name: str) -> int:
        return self.contracts.house.balance_of(self.accounts[name].address)

    def send(self, tx: dict, account: LocalAccount) -> TxResult:
        """Sign and send an unsigned transaction the API returned, as the wallet of ``account`` would."""
        w3 = self.contracts.chain.w3
        assert tx["from"] == account.address and tx["chain_id"] == self.contracts.chain.chain_id
        fields = {"to": tx["to"], "data": tx["data"], "value": int(tx["value"]), "chainId": tx["chain_id"]}
        fields |= {
            "from": account.address,
            "nonce": w3.eth.get_transaction_count(account.address, "pending"),
            "maxFeePerGas": w3.eth.gas_price * 2 + 10**9,
            "maxPriorityFeePerGas": 10**9,
        }
        fields["gas"] = w3.eth.estimate_gas(fields)
        raw = account.sign_transaction(fields).raw_transaction
        return self.contracts.house.wait(w3.eth.send_raw_transaction(raw))


def chain_app_house(
    db, *, lender_pool: int = 0, chain: backends.Chain | None = None
) -> tuple[ServiceContext, Contracts]:
    """The service on ``db`` joined to ``chain`` (default: a fresh in-process chain; the caller closes its own)."""
    chain = chain or backends.embedded()
    contracts = Contracts.attach(chain, deploy(chain, network=chain.name))
    settings = Settings(
        database_url=db.url, api=ApiSettings(operator_key=OPERATOR_KEY, auditor_key=AUDITOR_KEY, auth_cache_seconds=0)
    )
    ctx = build_service(settings, engine=db.engine, contracts=contracts)
    if lender_pool:
        lender = chain.accounts[9]
        contracts.token.mint(lender.address, lender_pool)
        contracts.token.approve(contracts.house.address, lender_pool, sender=lender)
        contracts.house.pool_deposit(lender_pool, sender=lender)
    return ctx, contracts


@pytest.fixture
def settling_house(db) -> ChainHouse:
    """On each ledger backend: no members yet (``add`` admits and funds them), no pool."""
    ctx, contracts = chain_app_house(db)
    with TestClient(create_app(ctx), raise_server_exceptions=False) as client:
        yield ChainHouse(ctx=ctx, client=client, contracts=contracts)


@pytest.fixture
def sqlite_chain_house(sqlite_db) -> ChainHouse:
    ctx, contracts = chain_app_house(sqlite_db)
    with TestClient(create_app(ctx), raise_server_exceptions=False) as client:
        yield ChainHouse(ctx=ctx, client=client, contracts=contracts)
