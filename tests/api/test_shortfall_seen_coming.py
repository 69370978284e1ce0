"""Issue 10, end to end: a member whose flows drain its headroom sees its forecast, shortfall date and top-up
advice, and receives signed webhooks (verified with the ``standardwebhooks`` library) while its headroom is
still there. Real app, real ledger (SQLite and PostgreSQL), a real HTTP receiver on loopback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from fastapi.testclient import TestClient
from standardwebhooks import Webhook

from clearing.api.app import create_app
from clearing.bench.webhook_receiver import Receiver
from clearing.services.webhooks.delivery import deliver_due
from clearing.settings import ApiSettings, Settings, WebhookSettings
from tests.api.conftest import OPERATOR_KEY
from tests.conftest import admit_member, ledger_house, record_trade

TOK = 10**6
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
DAYS = 70


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_a_member_sees_its_shortfall_coming_and_is_told_over_a_verified_webhook_first(db):
    clock = Clock(NOW - timedelta(days=DAYS + 1))
    settings = Settings(
        database_url=db.url,
        api=ApiSettings(operator_key=OPERATOR_KEY, auth_cache_seconds=0),
        webhooks=WebhookSettings(allow_private=True),
    )
    ctx = ledger_house(db, settings, clock=clock)
    shop = admit_member(ctx, "shop", collateral=6_000 * TOK, tier="B")  # B: alert on a shortfall within 7 days
    admit_member(ctx, "supplier", collateral=10**9 * TOK)
    trades = []
    for k in range(DAYS):
        at = NOW - timedelta(days=DAYS - k, hours=2)
        weekend = (at.weekday() >= 5) * 600
        trades.append(("shop", "supplier", (1_400 + weekend + 23 * (k % 7)) * TOK, at))  # buys stock daily
        trades.append(("supplier", "shop", (300 + 17 * (k % 5)) * TOK, at))  # and sells a little back
    record_trade(ctx, trades)
    clock.now = NOW
    client = TestClient(create_app(ctx))
    shop_auth = {"Authorization": f"Bearer {shop.api_key}"}
    op = {"Authorization": f"Bearer {OPERATOR_KEY}"}
    with Receiver() as rx:
        wanted = ["forecast.shortfall", "topup.advised", "alert.opened"]
        r = client.post("/webhooks", json={"url": rx.url, "events": wanted}, headers=shop_auth)
        assert r.status_code == 201, r.text
        secret = r.json()["secret"]
        rx.secrets.append(secret)

        assert client.post("/forecasts/run", headers=op).status_code == 200
        me = client.get("/members/me/forecast", headers=shop_auth).json()
        short = me["shortfall_date"]
        assert short is not None and NOW.date().isoformat() < short <= (NOW.date() + timedelta(7)).isoformat()
        assert int(me["topup"]["amount"]) > 0 and me["topup"]["by"] < short
        assert len(me["days"]) == 14 and all(int(d["net_p05"]) <= int(d["net_p95"]) for d in me["days"])
        headroom = int(client.get("/members/me", headers=shop_auth).json()["headroom"])
        assert headroom > 0  # it has not run out yet

        with httpx.Client(timeout=5) as http:
            while deliver_due(ctx.sessions, ctx.settings.webhooks, http):
                pass
        got = rx.wait_for(3)
        assert all(g.verified for g in got)
        for g in got:  # and any receiver with the secret and the library verifies it the same way
            Webhook(secret).verify(g.body, g.headers)
        by_type = {g.json()["type"]: g.json() for g in got}
        assert set(wanted) <= set(by_type)
        assert by_type["forecast.shortfall"]["data"]["member"] == "shop"
        assert by_type["forecast.shortfall"]["data"]["data"]["shortfall_date"] == short
        assert by_type["topup.advised"]["data"] == {
            **by_type["topup.advised"]["data"],
            "member": "shop",
            "amount": me["topup"]["amount"],
            "by": me["topup"]["by"],
            "shortfall_date": short,
        }
        alerts = client.get("/members/me/alerts", headers=shop_auth).json()
        assert "projected_shortfall" in {a["kind"] for a in alerts}
        # The operator sees every member and the pool.
        everyone = client.get("/forecasts", headers=op).json()
        assert {f["member"] for f in everyone} == {"shop", "supplier"}
        assert client.get("/forecasts/pool", headers=op).status_code == 200
