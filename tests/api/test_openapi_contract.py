"""Issue 8 item 3, the findings of the fuzzer pinned down one by one (each failed before its fix).

The OpenAPI document must say what the server does: every error is a declared
``application/problem+json``; 405 names every method of the path; a declared
boolean refuses 0; an amount's declared pattern admits exactly what the server
accepts; business rules answer their own problem code, request validation
``validation-error``.
"""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from clearing.api.schemas.common import UINT256_MAX, decimal_pattern, parse_amount

AMOUNT = re.compile(decimal_pattern(1))
LIMIT = re.compile(decimal_pattern(0))
TOP = str(UINT256_MAX)


def accepted(value: str, minimum: int) -> bool:
    try:
        parse_amount(value, minimum=minimum)
    except ValueError:
        return False
    return True


near_top = st.integers(1, 77).flatmap(
    lambda k: st.text("0123456789", min_size=78 - k, max_size=78 - k).map(lambda t: TOP[:k] + t)
)
digits = st.one_of(st.text("0123456789", min_size=1, max_size=80), near_top, st.integers(0, 2 * UINT256_MAX).map(str))


@settings(max_examples=2000, deadline=None)
@given(digits)
def test_amount_pattern_admits_exactly_what_the_server_accepts(value):
    for pattern, minimum in ((AMOUNT, 1), (LIMIT, 0)):
        declared = pattern.fullmatch(value) is not None and len(value) <= 78
        assert declared == accepted(value, minimum), (value, minimum)


def test_every_error_response_is_a_declared_problem(sqlite_house):
    doc = sqlite_house.client.get("/openapi.json").json()
    for path, item in doc["paths"].items():
        for method, op in item.items():
            statuses = op["responses"]
            if op.get("security"):
                assert {"401", "403"} <= statuses.keys(), (method, path)
            if op.get("requestBody"):
                assert {"400", "422"} <= statuses.keys(), (method, path)
            for status, response in statuses.items():
                if status[0] in "45":
                    assert list(response["content"]) == ["application/problem+json"], (method, path, status)
    r = sqlite_house.client.post("/obligations", content=b"\xff\xfe", headers=sqlite_house.headers("alpha"))
    assert r.status_code in (400, 422) and r.headers["content-type"] == "application/problem+json"


def test_405_names_every_method_of_the_path(sqlite_house):
    r = sqlite_house.client.request("OPTIONS", "/members", headers=sqlite_house.headers("operator"))
    assert r.status_code == 405
    assert {m.strip() for m in r.headers["allow"].split(",")} >= {"GET", "POST"}
    assert r.headers["content-type"] == "application/problem+json"


def test_a_declared_boolean_refuses_zero(sqlite_house):
    r = sqlite_house.client.patch(
        "/members/alpha/limits",
        json={"reason": "r", "clear_single_order_limit": 0},
        headers=sqlite_house.headers("operator"),
    )
    assert r.status_code == 422 and r.json()["field"] == "clear_single_order_limit"


def test_amounts_as_json_numbers(sqlite_house):
    h = sqlite_house
    body = {"id": "num-1", "debtor": "alpha", "creditor": "beta", "amount": 454.0}
    assert h.post("alpha", "/obligations", body).json()["obligation"]["amount"] == "454"
    for bad in (1.5, 2**53, -1, True):
        r = h.post("alpha", "/obligations", {**body, "id": "num-2", "amount": bad})
        assert r.status_code == 422 and r.json()["field"] == "amount", bad


def test_business_rules_answer_their_own_code(sqlite_house):
    h = sqlite_house
    r = h.post("alpha", "/obligations", {"id": "b-1", "debtor": "nobody", "creditor": "beta", "amount": "5"})
    assert (r.status_code, r.json()["code"], r.json()["field"]) == (422, "unknown-member", "debtor")
    r = h.post("alpha", "/obligations", {"id": "b-2", "debtor": "alpha", "creditor": "alpha", "amount": "5"})
    assert (r.status_code, r.json()["code"]) == (422, "same-member")
    r = h.post("alpha", "/obligations", {"id": "b-3", "debtor": "alpha", "creditor": "beta", "amount": "0"})
    assert (r.status_code, r.json()["code"]) == (422, "validation-error")
