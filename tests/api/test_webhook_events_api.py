"""Webhook events the chain drives, on a real (in-process) chain: a settled cycle, a completed withdrawal,
a credit change. Delivered to a real receiver on loopback and verified with ``standardwebhooks``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from clearing.bench.webhook_receiver import Receiver
from clearing.services.webhooks.delivery import deliver_due


@pytest.fixture(autouse=True)
def _private_allowed(monkeypatch):
    monkeypatch.setenv("CLEARING_WEBHOOKS__ALLOW_PRIVATE", "true")


def _deliver(h) -> None:
    with httpx.Client(timeout=5) as client:
        while deliver_due(h.ctx.sessions, h.ctx.settings.webhooks, client):
            pass


def _events(receiver: Receiver) -> list[dict]:
    assert all(g.verified for g in receiver.received)
    return [g.json() for g in receiver.received]


def test_settled_cycle_and_completed_withdrawal_are_published(settling_house):
    h = settling_house
    h.add("alpha", 1, collateral=2_000_000)
    h.add("beta", 2, collateral=1_000_000)
    with Receiver() as mine, Receiver() as ops:
        r = h.post("alpha", "/webhooks", {"url": mine.url, "events": ["cycle.settled", "withdrawal.completed"]})
        mine.secrets.append(r.json()["secret"])
        r = h.post("operator", "/webhooks", {"url": ops.url, "events": ["cycle.settled", "cycle.partial"]})
        ops.secrets.append(r.json()["secret"])
        for i, (debtor, creditor, amount) in enumerate((("alpha", "beta", 700_000), ("beta", "alpha", 200_000))):
            body = {"id": f"c-{i}", "debtor": debtor, "creditor": creditor, "amount": str(amount)}
            assert h.post(debtor, "/obligations", body).status_code == 201
        cycle = h.post("operator", "/cycles").json()
        settled = h.post("operator", f"/cycles/{cycle['id']}/settle").json()
        assert settled["state"] == "SETTLED"

        w = h.post("alpha", "/members/me/withdrawals", {"amount": "100000", "id": "w-1"}).json()
        mined = h.send(w["transaction"], h.accounts["alpha"])
        h.sync()
        _deliver(h)

        got = {e["type"]: e["data"] for e in _events(mine)}
        assert set(got) == {"cycle.settled", "withdrawal.completed"}
        assert got["cycle.settled"]["cycle_id"] == cycle["id"] and "positions" not in got["cycle.settled"]
        assert got["cycle.settled"]["position"] == {"member": "alpha", "net_delta": "-500000", "carried": "0"}
        assert got["withdrawal.completed"] == {
            "member": "alpha",
            "withdrawal": w["outbox_id"],
            "amount": "100000",
            "to": h.accounts["alpha"].address,
            "tx_hash": mined.tx_hash,
            "block": mined.block,
        }
        [op_event] = _events(ops)  # the operator: one event with every position
        assert op_event["type"] == "cycle.settled"
        assert {p["member"]: p["net_delta"] for p in op_event["data"]["positions"]} == {
            "alpha": "-500000",
            "beta": "500000",
        }


def test_a_credit_line_change_is_published(settling_house):
    h = settling_house
    h.add("alpha", 1, collateral=1_000_000)
    with Receiver() as mine:
        r = h.post("alpha", "/webhooks", {"url": mine.url, "events": ["credit.line_changed", "credit.tier_changed"]})
        mine.secrets.append(r.json()["secret"])
        expires = (datetime.now(UTC) + timedelta(days=7)).isoformat()
        pin = {"credit_line": "1000", "tier": "B", "above_cap": True, "reason": "test", "expires_at": expires}
        r = h.post("operator", "/members/alpha/credit/override", pin)
        assert r.status_code == 201, r.text
        _deliver(h)
        events = _events(mine)
        assert events, "no credit event"
        by_type = {e["type"]: e["data"] for e in events}
        assert by_type["credit.line_changed"]["credit_line"] == "1000"
        assert by_type["credit.line_changed"]["member"] == "alpha"
        assert (by_type["credit.tier_changed"]["tier_from"], by_type["credit.tier_changed"]["tier"]) == ("A", "B")
