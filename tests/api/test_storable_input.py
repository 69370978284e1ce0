"""Issue 8 item 2: input the ledger cannot store is a 4xx problem naming the field, never a 500.

PostgreSQL text cannot hold NUL and ledger ids are BIGINT. Every string field of
every request body, and every path and query parameter, is read from the app's
own OpenAPI document, so a new field or route is covered without editing this
file; a new route with a body needs a valid base body in ``BODIES``. Runs on
SQLite and PostgreSQL, with a chain, so cycle and audit routes reach their
handlers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest

NUL = "x\x00y"
INT64_MAX = 2**63 - 1

#: A valid body for each operation that takes one; the test injects bad values into it.
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("post", "/obligations"): {"id": "nul-1", "debtor": "alpha", "creditor": "beta", "amount": "5"},
    ("post", "/obligations/batch"): {"items": [{"id": "nul-2", "debtor": "alpha", "creditor": "beta", "amount": "5"}]},
    ("post", "/members/me/withdrawals"): {"amount": "1"},
    ("post", "/members"): {"name": "delta", "address": "0x" + "ab" * 20, "tier": "B"},
    ("post", "/members/{name}/suspend"): {"reason": "kyc"},
    ("post", "/members/{name}/resume"): {"reason": "kyc ok"},
    ("post", "/members/{name}/default"): {"reason": "unpaid"},
    ("post", "/members/{name}/cure"): {"reason": "repaid"},
    ("patch", "/members/{name}/limits"): {"reason": "review"},
    ("post", "/members/{name}/keys"): {"label": "ci"},
    ("post", "/holds/{hold_id}/review"): {"decision": "release", "reason": "checked"},
    ("post", "/obligations/{obligation_id}/escrow/release"): {"amount": "1", "id": "r-1"},
    ("post", "/obligations/{obligation_id}/escrow/refund"): {"amount": "1", "id": "r-2"},
    ("post", "/obligations/{obligation_id}/escrow/resolve"): {"to_creditor": "1", "to_debtor": "0", "id": "r-3"},
    ("post", "/obligations/{obligation_id}/escrow/claim"): {"id": "r-4"},
    ("post", "/cycles/{cycle_id}/release"): {"id": "r-5"},
    ("post", "/cycles/{cycle_id}/release/partial"): {"id": "r-6", "amounts": {"alpha": "1"}},
    ("post", "/cycles/{cycle_id}/release/pro-rata"): {"id": "r-7", "bps": 5000, "creditors": ["alpha"]},
    ("post", "/cycles/{cycle_id}/hold"): {"until": "2030-01-01T00:00:00Z", "id": "r-8"},
    ("post", "/cycles/{cycle_id}/refund"): {"id": "r-9", "cancel": {"alpha": "1"}, "refund": {"beta": "1"}},
    ("post", "/members/me/keys/rotate"): {"overlap_seconds": 60, "label": "ci"},
    ("post", "/members/{name}/keys/{key_id}/rotate"): {"overlap_seconds": 60, "label": "ci"},
    ("post", "/pool/prepare-deposit"): {"lender": "0x" + "ab" * 20, "amount": "1"},
    ("post", "/pledges/collections"): {
        "collection": "0x" + "ab" * 20,
        "unit_value": "1",
        "ltv_bps": 5000,
        "max_age_seconds": 60,
    },
    ("put", "/pledges/collections/{collection}"): {"unit_value": "1"},
    ("post", "/merchants"): {
        "merchant": "m-1",
        "signer": "0x" + "ab" * 20,
        "limit": "1",
        "nonce": "1",
        "signature": "0x" + "11" * 65,
    },
    ("post", "/merchants/{merchant}/status"): {"status": "frozen"},
    ("post", "/merchants/{merchant}/repayments"): {"id": "r-1", "amount": "1"},
    ("post", "/financing/advances"): {"id": "adv-1", "cycle_id": 1},
    ("post", "/members/me/pledges/prepare-pledge"): {"collection": "0x" + "ab" * 20, "token_id": "1"},
    ("post", "/members/me/pledges/prepare-unpledge"): {"collection": "0x" + "ab" * 20, "token_id": "1"},
    ("post", "/pool/prepare-withdrawal"): {"lender": "0x" + "ab" * 20, "amount": "1", "to": "0x" + "cd" * 20},
    ("post", "/pool/prepare-redeem"): {"lender": "0x" + "ab" * 20, "shares": "1", "to": "0x" + "cd" * 20},
    ("post", "/pool/prepare-queue"): {"lender": "0x" + "ab" * 20, "shares": "1"},
    ("post", "/pool/prepare-cancel"): {"lender": "0x" + "ab" * 20, "id": 0},
    ("post", "/obligations/{obligation_id}/disputes"): {"reason": "never delivered"},
    ("post", "/disputes/{dispute_id}/resolve"): {"decision": "reject", "reason": "delivered"},
    ("post", "/complaints"): {"against": "beta", "reason": "pays late", "obligation_id": "nul-1"},
    ("post", "/complaints/{complaint_id}/resolve"): {"decision": "dismiss", "reason": "on time"},
    ("post", "/members/{name}/credit/override"): {
        "reason": "review",
        "expires_at": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
        "tier": "B",
    },
    ("post", "/credit/rescore"): {"member": "alpha"},
    ("post", "/calendar/events"): {"date": "2026-11-11", "name": "double-11"},
    ("post", "/forecasts/run"): {"members": ["alpha"], "horizon": 7},
    ("post", "/alerts/{alert_id}/resolve"): {"reason": "handled"},
    ("put", "/members/{name}/alert-thresholds"): {"headroom_low": 2, "reason": "sale week"},
    ("post", "/webhooks"): {"url": "https://93.184.216.34/hooks", "events": ["obligation.accepted"]},
}
#: A valid value for each path parameter, when another one is under test.
PATH_VALUES = {
    "name": "alpha",
    "obligation_id": "nul-1",
    "cycle_id": "1",
    "hold_id": "1",
    "key_id": "1",
    "dispute_id": "1",
    "complaint_id": "1",
    "event_id": "1",
    "alert_id": "1",
    "endpoint_id": "1",
    "delivery_id": "1",
    "collection": "0x" + "ab" * 20,
    "merchant": "m-1",
}


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _alternatives(doc: dict[str, Any], schema: dict[str, Any]) -> list[dict[str, Any]]:
    schema = _resolve(doc, schema)
    subs = schema.get("anyOf") or schema.get("oneOf")
    return [a for s in subs for a in _alternatives(doc, s)] if subs else [schema]


def _declares_no_nul(schema: dict[str, Any]) -> bool:
    pattern = schema.get("pattern")
    return pattern is not None and re.search(pattern, NUL) is None


def bad_bodies(doc: dict[str, Any], schema: dict[str, Any], body: dict[str, Any], prefix: str = "") -> Iterator:
    """(field, body with a NUL in that field) for every string, list of strings, object key and value."""
    [schema] = [alt for alt in _alternatives(doc, schema) if alt.get("type") != "null"]  # an optional body
    for name, prop in schema["properties"].items():
        field = f"{prefix}{name}"
        for alt in _alternatives(doc, prop):
            kind = alt.get("type")
            if kind == "string" and "enum" not in alt and "format" not in alt:  # a date-time cannot hold NUL
                assert _declares_no_nul(alt), f"{field}: the OpenAPI document does not declare NUL refused"
                yield field, {**body, name: NUL}
            elif kind == "array":
                item = _resolve(doc, alt["items"])
                if item.get("type") == "object":
                    for sub, bad in bad_bodies(doc, item, body[name][0], f"{field}[0]."):
                        yield sub, {**body, name: [bad]}
                elif item.get("type") == "string" or item.get("anyOf"):
                    yield field, {**body, name: ["fine", NUL]}
            elif kind == "object":
                # keys typed with a pattern come out as patternProperties; free keys need a propertyNames pattern
                typed_keys = alt.get("patternProperties", {})
                keys_refuse_nul = typed_keys and all(re.search(p, NUL) is None for p in typed_keys)
                assert keys_refuse_nul or _declares_no_nul(alt.get("propertyNames", {})), f"{field}: keys may hold NUL"
                yield field, {**body, name: {NUL: "1"}}
                yield field, {**body, name: {"k": [NUL]}}


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method, op in item.items():
            yield method, path, op


def who(path: str) -> str:
    member_routes = ("/obligations", "/members/me", "/merchants", "/financing")
    return "alpha" if path.startswith(member_routes) or path == "/complaints" else "operator"


def url(path: str, **values: str) -> str:
    return re.sub(r"{(\w+)}", lambda m: quote(values.get(m[1], PATH_VALUES[m[1]]), safe=""), path)


def assert_problem(r, field: str) -> None:
    assert 400 <= r.status_code < 500, (r.request.method, r.request.url, r.status_code, r.text)
    assert r.headers["content-type"] == "application/problem+json"
    # a bad value inside an object or list may be named down to its key or index (``limit_overrides.k``)
    assert r.json()["field"] == field or r.json()["field"].startswith((f"{field}.", f"{field}[")), r.text


@pytest.fixture
def doc(chain_house) -> dict[str, Any]:
    return chain_house.client.get("/openapi.json").json()


def test_every_body_operation_has_a_base_body(doc):
    with_body = {(m, p) for m, p, op in operations(doc) if "requestBody" in op}
    assert with_body == set(BODIES), "add a valid body to BODIES for each new operation"


def test_nul_in_any_body_string_is_a_problem_naming_the_field(chain_house, doc):
    h, checked = chain_house, []
    for (method, path), body in BODIES.items():
        op = doc["paths"][path][method]
        schema = op["requestBody"]["content"]["application/json"]["schema"]
        for field, bad in bad_bodies(doc, schema, body):
            r = h.client.request(method, url(path), json=bad, headers=h.headers(who(path)))
            assert_problem(r, field)
            assert "NUL" in r.json()["detail"] or r.json()["code"] == "validation-error"
            checked.append((path, field))
    # the fields of issue 8's report, at least
    for field in ("reference", "on_behalf_of", "debtor", "items[0].reference", "reason", "label", "tier_reasons"):
        assert any(f == field for _, f in checked), field


def test_nul_or_int64_overflow_in_any_parameter_is_a_problem_naming_it(chain_house, doc):
    h, checked = chain_house, []
    for method, path, op in operations(doc):
        for param in op.get("parameters", []):
            alts = [a for a in _alternatives(doc, param["schema"]) if a.get("type") != "null"]
            kind = alts[0].get("type")
            if param["in"] not in ("path", "query") or kind not in ("string", "integer"):
                continue
            bads = [NUL] if kind == "string" else [str(INT64_MAX + 1), str(2**64), str(10**30)]
            if kind == "string" and "enum" not in alts[0]:
                assert _declares_no_nul(alts[0]), f"{path} {param['name']}: NUL refusal not declared"
            for bad in bads:
                if param["in"] == "path":
                    target, params = url(path, **{param["name"]: bad}), None
                else:
                    target, params = url(path), {param["name"]: bad}
                body = BODIES.get((method, path))
                r = h.client.request(method, target, params=params, json=body, headers=h.headers(who(path)))
                assert_problem(r, param["name"])
                checked.append((path, param["name"]))
    reported = {
        "/cycles/{cycle_id}",
        "/cycles/{cycle_id}/close",
        "/cycles/{cycle_id}/settle",
        "/holds/{hold_id}/review",
    }
    assert reported <= {p for p, _ in checked}
    assert ("/audit/verify", "cycle") in checked and ("/obligations/{obligation_id}", "obligation_id") in checked


def test_largest_int64_id_is_a_plain_not_found(chain_house):
    h = chain_house
    r = h.client.get(f"/cycles/{INT64_MAX}", headers=h.headers("auditor"))
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    r = h.client.post(
        f"/holds/{INT64_MAX}/review", json=BODIES["post", "/holds/{hold_id}/review"], headers=h.headers("operator")
    )
    assert r.status_code == 404
