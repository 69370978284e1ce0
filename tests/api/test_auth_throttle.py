"""Failed authentication is rate-limited per client address and per key prefix, without a ledger query per miss."""

from __future__ import annotations

import secrets
from contextlib import contextmanager

from fastapi.testclient import TestClient
from sqlalchemy import event

from clearing.api.app import create_app
from clearing.bootstrap import build_service
from clearing.settings import ApiSettings, Settings
from tests.conftest import admit_member


@contextmanager
def _app(database, limit: str = "5/minute"):
    settings = Settings(database_url=database.url, api=ApiSettings(auth_failure_limit=limit))
    ctx = build_service(settings, engine=database.engine, with_chain=False)
    key = admit_member(ctx, "alpha").api_key
    yield ctx, key


@contextmanager
def _key_lookups(engine):
    """Counts the ledger queries that read ``api_keys`` (each miss used to make one)."""
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if "FROM api_keys" in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _get(client: TestClient, key: str):
    return client.get("/members/me", headers={"Authorization": f"Bearer {key}"})


def _bad_key() -> str:
    return "chm_" + secrets.token_urlsafe(32)


def test_a_flood_of_bad_keys_gets_429_and_no_query_past_the_limit(db):
    with _app(db) as (ctx, good), TestClient(create_app(ctx), client=("203.0.113.7", 4000)) as client:
        with _key_lookups(db.engine) as lookups:
            statuses = [_get(client, _bad_key()).status_code for _ in range(60)]
        assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}
        assert len(lookups) == 5  # one per miss up to the limit, none after
        r = _get(client, _bad_key())
        assert r.status_code == 429 and r.headers["content-type"].startswith("application/problem+json")
        assert 1 <= int(r.headers["Retry-After"]) <= 60
        assert r.json()["field"] == "authorization" and r.json()["values"]["scope"] == "client"
        assert _get(client, good).status_code == 429  # per address: this client waits, whatever its key
    with TestClient(create_app(ctx), client=("198.51.100.9", 4000)) as other:
        assert _get(other, good).status_code == 200  # another address is not affected


def test_a_repeated_bad_key_is_answered_from_the_negative_cache(db):
    with _app(db, limit="100/minute") as (ctx, _), TestClient(create_app(ctx)) as client:
        bad = _bad_key()
        with _key_lookups(db.engine) as lookups:
            assert [_get(client, bad).status_code for _ in range(10)] == [401] * 10
        assert len(lookups) == 1


def test_one_key_prefix_is_limited_across_addresses(db):
    with _app(db) as (ctx, good):
        prefix = good[:8]
        statuses = []
        for k in range(8):  # a botnet: every attempt from another address, all at one prefix
            with TestClient(create_app(ctx), client=(f"192.0.2.{k}", 4000)) as client:
                statuses.append(_get(client, prefix + secrets.token_urlsafe(32)).status_code)
        assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}
        with TestClient(create_app(ctx), client=("192.0.2.200", 4000)) as client:
            r = _get(client, prefix + "x" * 40)
            assert r.status_code == 429 and r.json()["values"]["scope"] == "prefix"
            assert _get(client, _bad_key()).status_code == 401  # other prefixes are not affected


def test_429_is_declared_wherever_a_key_is_checked(house):
    doc = house.client.get("/openapi.json").json()
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if "401" in op.get("responses", {}):
                assert "429" in op["responses"], (method, path)
