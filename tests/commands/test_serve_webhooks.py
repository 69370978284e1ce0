"""`clearing serve` runs the webhook delivery worker: an obligation submitted over HTTP reaches a real
receiver, signed, without anything but the server doing the work."""

from __future__ import annotations

import httpx
from eth_account import Account

from clearing.adapters.chain import backends
from clearing.bench.webhook_receiver import Receiver
from tests.conftest import clearing_env, clearing_serve

OPERATOR_KEY = "cho_serve-webhooks-operator"


def test_serve_delivers_a_submitted_obligation(tmp_path):
    port = backends.free_port()
    env = clearing_env(
        CLEARING_API__OPERATOR_KEY=OPERATOR_KEY,
        CLEARING_WEBHOOKS__ALLOW_PRIVATE="true",
        CLEARING_WEBHOOKS__POLL_SECONDS="0.05",
    )
    with clearing_serve(tmp_path, env, port), Receiver() as receiver:
        base = f"http://127.0.0.1:{port}"
        op = {"Authorization": f"Bearer {OPERATOR_KEY}"}
        keys = {}
        for name in ("alpha", "beta"):
            body = {"name": name, "address": Account.create().address, "tier": "A", "credit_line": "0"}
            r = httpx.post(f"{base}/members", json=body, headers=op, timeout=30)
            assert r.status_code == 201, r.text
            keys[name] = {"Authorization": f"Bearer {r.json()['api_key']}"}
        r = httpx.post(f"{base}/webhooks", json={"url": receiver.url, "events": ["*"]}, headers=keys["alpha"])
        assert r.status_code == 201, r.text
        receiver.secrets.append(r.json()["secret"])
        ob = {"id": "served-1", "debtor": "alpha", "creditor": "beta", "amount": "5"}
        assert httpx.post(f"{base}/obligations", json=ob, headers=keys["alpha"], timeout=30).status_code == 201
        [got] = receiver.wait_for(1, timeout=30)
        assert got.verified and got.json()["type"] == "obligation.accepted"
        assert got.json()["data"]["id"] == "served-1"
