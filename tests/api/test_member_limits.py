"""A member's own limits (``PATCH /members/{name}/limits``) drive the risk rules; bad ones are 422 naming the field."""

from __future__ import annotations

import pytest


def _limits(house, name: str, body: dict):
    return house.client.patch(
        f"/members/{name}/limits", json={"reason": "review", **body}, headers=house.headers("operator")
    )


def _submit(house, id: str, amount: int, debtor: str = "alpha", creditor: str = "beta") -> dict:
    r = house.post(debtor, "/obligations", {"id": id, "debtor": debtor, "creditor": creditor, "amount": str(amount)})
    assert r.status_code == 201, r.text
    return r.json()["obligation"]


def test_own_single_order_limit_holds_naming_the_rule(house):
    assert _submit(house, "before", 500)["status"] == "accepted"  # tier A's limit is far above
    assert _limits(house, "alpha", {"single_order_limit": "100"}).status_code == 200
    assert _submit(house, "at-limit", 100)["status"] == "accepted"
    held = _submit(house, "over", 101)
    assert held["status"] == "held"
    [hold] = held["holds"]
    assert hold["rule"] == "single-order-limit"
    assert (hold["values"]["limit"], hold["values"]["limit_source"]) == ("100", "member")
    assert "'alpha''s own single-order limit 100" in hold["message"]
    # another member keeps its tier's limit
    assert _submit(house, "beta-big", 101, debtor="beta", creditor="alpha")["status"] == "accepted"
    # cleared: back to the tier's limit
    assert _limits(house, "alpha", {"clear_single_order_limit": True}).json()["single_order_limit"] is None
    assert _submit(house, "after-clear", 101)["status"] == "accepted"


def test_own_velocity_and_counterparty_limits_hold(house):
    r = _limits(house, "alpha", {"limit_overrides": {"velocity_max_count": "2", "velocity_max_amount": 1_000}})
    assert r.status_code == 200, r.text
    assert r.json()["limit_overrides"] == {"velocity_max_count": "2", "velocity_max_amount": "1000"}
    assert [_submit(house, f"v-{k}", 10)["status"] for k in range(2)] == ["accepted", "accepted"]
    third = _submit(house, "v-2", 10)
    assert [(h["rule"], h["values"]["max_count"], h["values"]["limit_source"]) for h in third["holds"]] == [
        ("velocity-count", "2", "member")
    ]
    # null clears one override and leaves the other
    r = _limits(house, "alpha", {"limit_overrides": {"velocity_max_count": None}})
    assert r.json()["limit_overrides"] == {"velocity_max_amount": "1000"}
    over = _submit(house, "v-3", 1_000)
    assert [h["rule"] for h in over["holds"]] == ["velocity-amount"]
    assert _limits(house, "alpha", {"limit_overrides": {"new_counterparty_threshold": "5"}}).status_code == 200
    first = _submit(house, "new-pair", 6, creditor="gamma")
    assert "new-counterparty" in [h["rule"] for h in first["holds"]]


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"velocity_max_cnt": "5"}, "limit_overrides.velocity_max_cnt"),
        ({"velocity_max_cnt": None}, "limit_overrides.velocity_max_cnt"),
        ({"single_order_limit": "5"}, "limit_overrides.single_order_limit"),
        ({"velocity_max_count": "-1"}, "limit_overrides.velocity_max_count"),
        ({"velocity_max_count": "abc"}, "limit_overrides.velocity_max_count"),
        ({"velocity_max_count": 1.5}, "limit_overrides.velocity_max_count"),
        ({"velocity_max_amount": str(2**256)}, "limit_overrides.velocity_max_amount"),
        ({"velocity_max_amount": {"A": 5}}, "limit_overrides.velocity_max_amount"),
    ],
)
def test_bad_overrides_are_422_naming_the_field(house, overrides, field):
    r = _limits(house, "alpha", {"limit_overrides": overrides})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["field"] == field
    assert house.get("operator", "/members/alpha").json()["limit_overrides"] == {}
