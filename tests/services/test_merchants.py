"""Merchant lines under concurrency, group commit, status changes and the refusal webhook (issue 12)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from eth_account import Account
from sqlalchemy import select, update

from clearing.adapters.db.models import Hold, Member, WebhookMessage
from clearing.errors import MerchantLineExhausted
from clearing.services import holds, merchants
from clearing.services import submission as osvc
from clearing.services.signatures import sign_merchant_line, sign_obligation
from clearing.services.webhooks import endpoints
from tests.api.conftest import DOMAIN, api_house
from tests.conftest import OPERATOR, admit_member


@pytest.fixture(autouse=True)
def _private_allowed(monkeypatch):
    monkeypatch.setenv("CLEARING_WEBHOOKS__ALLOW_PRIVATE", "true")


class Setup:
    def __init__(self, database, limit: int):
        self.ctx = api_house(database)
        self.b = admit_member(self.ctx, "bplat", collateral=10**24)
        self.a = admit_member(self.ctx, "aplat", collateral=10**24)
        self.a2 = admit_member(self.ctx, "cplat", collateral=10**24)
        self.m = Account.create()
        addr = self.b.account.address
        sig = sign_merchant_line(
            DOMAIN, self.b.account.key, issuer=addr, merchant="m", signer=self.m.address, limit=limit, nonce=1
        )
        merchants.grant(
            self.ctx, self.b.principal, merchant="m", signer=self.m.address, limit=limit, nonce=1, signature=sig
        )

    def purchase(self, id: str, amount: int, creditor=None) -> osvc.ObligationInput:
        creditor = creditor or self.a
        fields = dict(
            id=id,
            debtor=self.b.account.address,
            creditor=creditor.account.address,
            amount=amount,
            reference="",
            on_behalf_of="m",
        )
        return osvc.ObligationInput(
            **fields,
            signature=sign_obligation(DOMAIN, self.b.account.key, **fields),
            merchant_signature=sign_obligation(DOMAIN, self.m.key, **fields),
        )

    def line(self) -> merchants.LineView:
        return merchants.get(self.ctx, self.b.principal, "m")


def _run(n: int, fn) -> list:
    barrier = threading.Barrier(n)

    def go(i: int):
        barrier.wait()
        try:
            return fn(i)
        except Exception as exc:  # noqa: BLE001 - collected and asserted on
            return exc

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(go, range(n)))


def test_concurrent_purchases_never_exceed_the_line(db):
    """16 creditors' submissions race for a line that holds 5 of them: exactly 5 are taken, on either backend."""
    s = Setup(db, limit=500)
    results = _run(
        16,
        lambda i: osvc.submit(
            s.ctx, (s.a if i % 2 else s.a2).principal, [s.purchase(f"c-{i}", 100, s.a if i % 2 else s.a2)], batch=False
        ),
    )
    taken = [r for r in results if isinstance(r, list)]
    refused = [r for r in results if isinstance(r, MerchantLineExhausted)]
    assert (len(taken), len(refused)) == (5, 11), [r for r in results if isinstance(r, Exception)][:1]
    line = s.line()
    assert (line.used, line.available) == (500, 0)


def test_group_commit_refuses_only_the_purchase_that_does_not_fit(db):
    s = Setup(db, limit=150)
    out = osvc.submit_group(
        s.ctx,
        [
            (s.a.principal, s.purchase("g-1", 100)),
            (s.a.principal, s.purchase("g-2", 100)),  # 200 > 150
            (s.a2.principal, s.purchase("g-3", 50, s.a2)),
        ],
    )
    assert [type(x).__name__ for x in out] == ["SubmitResult", "MerchantLineExhausted", "SubmitResult"]
    assert s.line().used == 150


def test_held_purchases_count_and_rejected_ones_free_the_line(db):
    s = Setup(db, limit=1000)
    with s.ctx.uow() as uow:
        uow.session.execute(update(Member).where(Member.name == "bplat").values(single_order_limit=500))
        uow.commit()
    [r] = osvc.submit(s.ctx, s.a.principal, [s.purchase("big", 600)], batch=False)
    assert r.obligation.status == "held" and s.line().used == 600
    with s.ctx.uow(read_only=True) as uow:
        hold_id = uow.session.scalar(select(Hold.id))
    holds.review(s.ctx, OPERATOR, hold_id, decision="reject", reason="not ordered")
    assert (s.line().used, s.line().available) == (0, 1000)


def test_a_refusal_for_capacity_is_published_to_the_platform(db):
    s = Setup(db, limit=10)
    endpoints.register(s.ctx, s.b.principal, url="http://127.0.0.1:9/hook", events=["merchant.line_exhausted"])
    with pytest.raises(MerchantLineExhausted):
        osvc.submit(s.ctx, s.a.principal, [s.purchase("x-1", 11)], batch=False)
    with s.ctx.uow(read_only=True) as uow:
        bodies = list(
            uow.session.scalars(
                select(WebhookMessage.body).where(WebhookMessage.event_type == "merchant.line_exhausted")
            )
        )
    assert len(bodies) == 1 and '"available":"10"' in bodies[0] and '"issuer":"bplat"' in bodies[0]
    assert s.line().used == 0
