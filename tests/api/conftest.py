"""The real app on a real ledger; members with real keys and EVM accounts."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Row, select

from clearing.adapters.db.models import SettlementTx, TxState
from clearing.api.app import create_app
from clearing.bootstrap import build_service
from clearing.services.context import ServiceContext
from clearing.services.signatures import SigningDomain, sign_obligation
from clearing.settings import ApiSettings, ChainSettings, Settings
from tests.conftest import admit_member

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


def api_house(url: str, engine=None) -> ServiceContext:
    """The service without a chain: its outbox plans every chain call and leaves it planned."""
    settings = Settings(
        database_url=url,
        api=ApiSettings(operator_key=OPERATOR_KEY, auditor_key=AUDITOR_KEY, auth_cache_seconds=0),
        chain=ChainSettings(chain_id=DOMAIN.chain_id, verifying_contract=DOMAIN.verifying_contract),
    )
    return build_service(settings, engine=engine, with_chain=False)


@pytest.fixture
def house(db) -> House:
    ctx = api_house(db.url, db.engine)
    with TestClient(create_app(ctx), raise_server_exceptions=False) as client:
        h = House(ctx=ctx, client=client)
        h.add("alpha")
        h.add("beta")
        h.add("gamma")
        yield h


@pytest.fixture
def sqlite_house(sqlite_db) -> House:
    ctx = api_house(sqlite_db.url, sqlite_db.engine)
    with TestClient(create_app(ctx), raise_server_exceptions=False) as client:
        h = House(ctx=ctx, client=client)
        h.add("alpha")
        h.add("beta")
        h.add("gamma")
        yield h
