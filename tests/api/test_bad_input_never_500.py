"""Whatever a client sends, the answer is a problem (4xx), never a 500."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**300), max_value=2**300),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
obligation_like = st.fixed_dictionaries(
    {},
    optional={
        "id": values,
        "debtor": st.sampled_from(["alpha", "beta", "0x" + "00" * 20]) | values,
        "creditor": st.sampled_from(["beta", "gamma"]) | values,
        "amount": values,
        "reference": values,
        "signature": values,
        "on_behalf_of": values,
    },
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(obligation_like, values))
def test_single_endpoint_never_500(sqlite_house, body):
    r = sqlite_house.post("alpha", "/obligations", body)
    assert r.status_code < 500, r.text
    if r.status_code >= 400:
        assert r.headers["content-type"].startswith("application/problem+json")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=st.lists(obligation_like, min_size=0, max_size=4))
def test_batch_endpoint_never_500(sqlite_house, items):
    r = sqlite_house.post("alpha", "/obligations/batch", {"items": items})
    assert r.status_code < 500, r.text


def test_odd_requests(sqlite_house):
    h = sqlite_house
    auth = h.headers("alpha")
    for content, ctype in [
        (b"", "application/json"),
        (b"[]", "application/json"),
        (b"\xff\xfe", "application/json"),
        (b"id=1", "application/x-www-form-urlencoded"),
        (json.dumps({"id": "x"}).encode(), "text/plain"),
    ]:
        r = h.client.post("/obligations", content=content, headers={**auth, "Content-Type": ctype})
        assert 400 <= r.status_code < 500, (content, r.status_code, r.text)
    assert h.client.post("/holds/abc/review", json={}, headers=h.headers("operator")).status_code == 422
    assert h.client.get("/cycles?limit=0", headers=h.headers("auditor")).status_code == 422
    assert h.client.get("/obligations/" + "x" * 5000, headers=auth).status_code == 404
    r = h.client.post("/members/me/withdrawals", json={"amount": "-1"}, headers=auth)
    assert r.status_code == 422 and r.json()["field"] == "amount"
    r = h.client.get("/members/me", headers={"Authorization": "Basic abc"})
    assert r.status_code == 401
