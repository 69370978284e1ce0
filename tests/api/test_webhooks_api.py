"""Webhooks over the real app and ledger (SQLite and PostgreSQL), delivered to real HTTP receivers on
loopback and verified with the ``standardwebhooks`` library."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from clearing.adapters.db.models import WebhookDelivery, WebhookEndpoint, WebhookMessage
from clearing.bench.webhook_receiver import Receiver
from clearing.errors import ValidationError
from clearing.services.webhooks import endpoints
from clearing.services.webhooks.delivery import deliver_due
from clearing.settings import WebhookSettings
from tests.conftest import OPERATOR

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _private_allowed(monkeypatch):
    """Receivers live on 127.0.0.1: allow private addresses (built into each house's settings)."""
    monkeypatch.setenv("CLEARING_WEBHOOKS__ALLOW_PRIVATE", "true")
    monkeypatch.setenv("CLEARING_WEBHOOKS__BACKOFF_BASE_SECONDS", "0.001")
    monkeypatch.setenv("CLEARING_WEBHOOKS__BACKOFF_CAP_SECONDS", "0.001")


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r


def deliver(house, settings: WebhookSettings | None = None) -> int:
    """Every due delivery, as the worker would send them; returns how many attempts were made."""
    total = 0
    with httpx.Client(timeout=5) as client:
        while n := deliver_due(house.ctx.sessions, settings or house.ctx.settings.webhooks, client):
            total += n
            if total > 10_000:
                raise AssertionError("deliveries never end")
    return total


def register(house, who: str, url: str, events=("*",)) -> dict:
    r = house.post(who, "/webhooks", {"url": url, "events": list(events)})
    assert r.status_code == 201, r.text
    return r.json()


def ob(id: str, debtor: str = "alpha", creditor: str = "beta", amount: object = "120") -> dict:
    return {"id": id, "debtor": debtor, "creditor": creditor, "amount": amount}


def test_register_list_rotate_delete_and_member_isolation(house, receiver):
    e = register(house, "alpha", receiver.url, ["obligation.accepted", "obligation.held"])
    assert e["secret"].startswith("whsec_") and e["owner"] == "alpha" and e["enabled"] is True
    assert e["events"] == ["obligation.accepted", "obligation.held"]
    assert [x["id"] for x in house.get("alpha", "/webhooks").json()] == [e["id"]]
    assert "secret" not in house.get("alpha", "/webhooks").json()[0]
    # Another member neither sees nor touches it.
    assert house.get("beta", "/webhooks").json() == []
    for method, path in (
        ("DELETE", f"/webhooks/{e['id']}"),
        ("POST", f"/webhooks/{e['id']}/rotate-secret"),
        ("GET", f"/webhooks/{e['id']}/deliveries"),
        ("POST", f"/webhooks/{e['id']}/deliveries/1/redeliver"),
    ):
        r = house.client.request(method, path, headers=house.headers("beta"))
        assert r.status_code == 404, (method, path, r.text)
    # The operator sees every endpoint; mine=true: its own.
    op = register(house, "operator", receiver.url)
    assert op["owner"] == "operator"
    assert {x["id"] for x in house.get("operator", "/webhooks").json()} == {e["id"], op["id"]}
    assert [x["id"] for x in house.get("operator", "/webhooks?mine=true").json()] == [op["id"]]
    assert house.get("auditor", "/webhooks").status_code == 403
    rotated = house.post("alpha", f"/webhooks/{e['id']}/rotate-secret", {}).json()
    assert rotated["secret"] != e["secret"] and rotated["previous_secret_until"] is not None
    r = house.client.delete(f"/webhooks/{e['id']}", headers=house.headers("alpha"))
    assert r.status_code == 200 and r.json()["enabled"] is False
    assert house.get("alpha", "/webhooks").json() == []
    assert house.client.delete(f"/webhooks/{e['id']}", headers=house.headers("alpha")).status_code == 404


def test_bad_events_and_urls_are_422_naming_the_field(house):
    for body, field in (
        ({"url": "https://example.com/h", "events": ["obligation.eaten"]}, "events"),
        ({"url": "https://example.com/h", "events": []}, "events"),
        ({"url": "ftp://example.com/h", "events": ["*"]}, "url"),
        ({"url": "https:///nohost", "events": ["*"]}, "url"),
        ({"url": "not a url", "events": ["*"]}, "url"),
    ):
        r = house.post("alpha", "/webhooks", body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["field"].split(".")[0] == field, (body, r.json())


def test_private_addresses_are_refused_without_the_flag(house):
    strict = dataclasses.replace(
        house.ctx, settings=house.ctx.settings.model_copy(update={"webhooks": WebhookSettings()})
    )
    principal = OPERATOR
    for url in (
        "http://127.0.0.1:9/h",
        "http://10.0.0.7/h",
        "http://192.168.1.1/h",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/h",
        "http://[::ffff:10.0.0.1]/h",
        "http://0.0.0.0/h",
        "http://224.0.0.1/h",
        "http://localhost:8000/h",
    ):
        with pytest.raises(ValidationError) as err:
            endpoints.register(strict, principal, url=url, events=["*"])
        assert err.value.field == "url", url
    view, _ = endpoints.register(strict, principal, url="https://93.184.216.34/h", events=["*"])
    assert view.url == "https://93.184.216.34/h"


def test_submission_delivers_verified_accepted_and_held_events(house, receiver):
    e = register(house, "alpha", receiver.url, ["obligation.accepted", "obligation.held"])
    receiver.secrets.append(e["secret"])
    assert house.post("alpha", "/obligations", ob("w-1")).status_code == 201
    assert house.post("alpha", "/obligations", ob("w-2", amount=str(2**200))).json()["obligation"]["status"] == "held"
    assert deliver(house) == 2
    got = receiver.wait_for(2)
    assert all(g.verified for g in got)
    bodies = {g.json()["data"]["id"]: g.json() for g in got}
    assert bodies["w-1"]["type"] == "obligation.accepted" and bodies["w-1"]["data"]["amount"] == "120"
    assert bodies["w-2"]["type"] == "obligation.held" and "single-order-limit" in bodies["w-2"]["data"]["holds"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z", bodies["w-1"]["timestamp"])
    log = house.get("alpha", f"/webhooks/{e['id']}/deliveries").json()
    assert {d["state"] for d in log} == {"delivered"} and all(d["attempt_log"][0]["status_code"] == 200 for d in log)
    # The creditor did not subscribe: nothing for it; a member subscribed to other types gets nothing either.
    other = register(house, "beta", receiver.url, ["cycle.settled"])
    house.post("alpha", "/obligations", ob("w-3"))
    deliver(house)
    assert len(receiver.received) == 3  # alpha's endpoint only
    assert house.get("beta", f"/webhooks/{other['id']}/deliveries").json() == []


def test_released_and_rejected_holds_are_published(house, receiver):
    e = register(house, "beta", receiver.url, ["obligation.released", "obligation.rejected"])
    receiver.secrets.append(e["secret"])
    house.post("operator", "/members/alpha/suspend", {"reason": "x"})
    house.post("alpha", "/obligations", ob("h-1"))
    house.post("alpha", "/obligations", ob("h-2"))
    holds = {h["obligation_id"]: h for h in house.get("operator", "/holds").json()}
    for oid, decision in (("h-1", "release"), ("h-2", "reject")):
        r = house.post("operator", f"/holds/{holds[oid]['id']}/review", {"decision": decision, "reason": "checked"})
        assert r.status_code == 200, r.text
    assert deliver(house) == 2
    got = {g.json()["data"]["id"]: g.json() for g in receiver.wait_for(2)}
    assert got["h-1"]["type"] == "obligation.released" and got["h-1"]["data"]["status"] == "accepted"
    assert got["h-2"]["type"] == "obligation.rejected" and got["h-2"]["data"]["status"] == "rejected"
    assert got["h-2"]["data"]["reason"] == "checked" and got["h-2"]["data"]["reviewer"] == "operator:bootstrap"
    assert all(g.verified for g in receiver.received)


def test_retries_keep_the_webhook_id_and_redelivery_too(house, receiver):
    e = register(house, "alpha", receiver.url, ["*"])
    receiver.secrets.append(e["secret"])
    receiver.status = 503
    house.post("alpha", "/obligations", ob("r-1"))
    assert deliver_due(house.ctx.sessions, house.ctx.settings.webhooks, httpx.Client()) == 1
    [d] = house.get("alpha", f"/webhooks/{e['id']}/deliveries").json()
    assert d["state"] == "pending" and d["attempts"] == 1 and d["attempt_log"][0]["status_code"] == 503
    receiver.status = 200
    deliver(house)
    [d] = house.get("alpha", f"/webhooks/{e['id']}/deliveries").json()
    assert d["state"] == "delivered" and d["attempts"] == 2
    r = house.post("alpha", f"/webhooks/{e['id']}/deliveries/{d['id']}/redeliver", {})
    assert r.status_code == 200 and r.json()["state"] == "pending"
    deliver(house)
    ids = [g.message_id for g in receiver.received]
    assert len(ids) == 3 and set(ids) == {d["message_id"]} and all(g.verified for g in receiver.received)
    assert house.post("alpha", f"/webhooks/{e['id']}/deliveries/999999/redeliver", {}).status_code == 404


def test_too_old_a_message_disables_the_endpoint_and_tells_the_operator(house, receiver):
    with Receiver() as ops:
        op = register(house, "operator", ops.url, ["webhook.endpoint_disabled"])
        ops.secrets.append(op["secret"])
        e = register(house, "alpha", receiver.url, ["obligation.accepted"])
        receiver.status = 500
        house.post("alpha", "/obligations", ob("old-1"))
        house.post("alpha", "/obligations", ob("old-2"))
        with house.ctx.uow() as uow:  # the messages are a day and a second old
            uow.session.execute(update(WebhookDelivery).values(age_from=datetime.now(UTC) - timedelta(seconds=86_401)))
            uow.commit()
        deliver(house)
        [endpoint] = [x for x in house.get("alpha", "/webhooks").json()]
        assert endpoint["enabled"] is False and "undelivered" in endpoint["disabled_reason"]
        log = house.get("alpha", f"/webhooks/{e['id']}/deliveries").json()
        assert {d["state"] for d in log} == {"failed"}
        [note] = ops.wait_for(1)
        assert note.verified and note.json()["type"] == "webhook.endpoint_disabled"
        assert note.json()["data"]["endpoint_id"] == e["id"] and note.json()["data"]["owner"] == "alpha"
        # Disabled: nothing more is published to it; redelivery is refused.
        house.post("alpha", "/obligations", ob("old-3"))
        with house.ctx.uow(read_only=True) as uow:
            assert (
                uow.session.scalar(
                    select(WebhookDelivery.id).where(
                        WebhookDelivery.endpoint_id == e["id"], WebhookDelivery.state == "pending"
                    )
                )
                is None
            )
        r = house.post("alpha", f"/webhooks/{e['id']}/deliveries/{log[0]['id']}/redeliver", {})
        assert r.status_code == 409


def test_rotation_overlap_signs_with_both_secrets(house, receiver):
    e = register(house, "alpha", receiver.url, ["obligation.accepted"])
    new = house.post("alpha", f"/webhooks/{e['id']}/rotate-secret", {}).json()["secret"]
    house.post("alpha", "/obligations", ob("rot-1"))
    deliver(house)
    [got] = receiver.wait_for(1)
    entries = got.headers["webhook-signature"].split(" ")
    assert len(entries) == 2 and all(x.startswith("v1,") for x in entries)
    for secret in (e["secret"], new):
        assert Webhook(secret).verify(got.body, got.headers)["data"]["id"] == "rot-1"
        # each secret matches exactly one of the two signatures
        assert sum(_verifies(secret, got.body, {**got.headers, "webhook-signature": x}) for x in entries) == 1
    # Past the overlap, only the new secret signs.
    with house.ctx.uow() as uow:
        uow.session.execute(
            update(WebhookEndpoint).values(previous_secret_until=datetime.now(UTC) - timedelta(seconds=1))
        )
        uow.commit()
    house.post("alpha", "/obligations", ob("rot-2"))
    deliver(house)
    last = receiver.wait_for(2)[-1]
    assert len(last.headers["webhook-signature"].split(" ")) == 1
    Webhook(new).verify(last.body, last.headers)
    assert not _verifies(e["secret"], last.body, last.headers)


def _verifies(secret: str, body: bytes, headers: dict[str, str]) -> bool:
    try:
        Webhook(secret).verify(body, headers)
    except WebhookVerificationError:
        return False
    return True


def test_nothing_is_written_when_nobody_subscribes(house):
    house.post("alpha", "/obligations", ob("quiet-1"))
    with house.ctx.uow(read_only=True) as uow:
        assert uow.session.scalar(select(WebhookMessage.id)) is None


def test_the_documented_verification_snippet_runs(house, receiver):
    """docs/webhooks.md's Python snippet, run as written against a real delivery."""
    text = (ROOT / "docs" / "webhooks.md").read_text()
    snippet = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    e = register(house, "alpha", receiver.url, ["obligation.accepted"])
    house.post("alpha", "/obligations", ob("doc-1"))
    deliver(house)
    [got] = receiver.wait_for(1)
    scope = {}
    exec(compile(snippet, "docs/webhooks.md", "exec"), scope)
    event = scope["verify"](got.body, got.headers, e["secret"])
    assert event["type"] == "obligation.accepted" and event["data"]["id"] == "doc-1"
    with pytest.raises(WebhookVerificationError):
        scope["verify"](got.body.replace(b"doc-1", b"doc-2"), got.headers, e["secret"])
