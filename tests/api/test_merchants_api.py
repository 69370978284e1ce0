"""Issue 12, merchant credit across platforms: lines a platform signs for its merchants, purchases charged to
them on behalf of the merchant with its signature, repayments, statements, isolation, B's headroom."""

from __future__ import annotations

import pytest

from clearing.services import signatures
from tests.api.conftest import DOMAIN
from tests.api.merchant_helpers import grant, new_merchant, purchase_body


def _line(h, merchant: str, who: str = "alpha") -> dict:
    r = h.get(who, f"/merchants/{merchant}")
    assert r.status_code == 200, r.text
    return r.json()


def test_grant_is_signed_replay_safe_and_changes_need_a_higher_nonce(house):
    m = new_merchant()
    r = grant(house, "m-1", m.address, 1000, 1)
    assert r.status_code == 201, r.text
    assert r.json()["line"] | {"created_at": None, "updated_at": None} == {
        "issuer": "alpha",
        "merchant": "m-1",
        "signer": m.address,
        "limit": "1000",
        "used": "0",
        "available": "1000",
        "status": "active",
        "nonce": "1",
        "created_at": None,
        "updated_at": None,
    }
    again = grant(house, "m-1", m.address, 1000, 1)  # the same signed body: a retry
    assert again.status_code == 200 and again.json()["replayed"] is True
    reused = grant(house, "m-1", m.address, 5000, 1)
    assert reused.status_code == 409 and reused.json()["field"] == "nonce"
    raised = grant(house, "m-1", m.address, 5000, 2)
    assert raised.status_code == 200 and raised.json()["line"]["limit"] == "5000"
    stale = grant(house, "m-1", m.address, 9000, 1)  # an old nonce with another body
    assert stale.status_code == 409 and stale.json()["code"] == "merchant-line-nonce"
    older = grant(house, "m-1", m.address, 1000, 1)  # replaying the first grant changes nothing
    assert older.status_code == 200 and older.json()["replayed"] and older.json()["line"]["limit"] == "5000"
    forged = grant(house, "m-2", m.address, 10**9, 1, key=m.key)  # not the issuer's registered key
    assert forged.status_code == 422 and forged.json()["field"] == "signature"
    assert house.get("alpha", "/merchants/m-2").status_code == 404


def test_eip712_serves_the_merchant_line_type(house):
    doc = house.client.get("/eip712", params={"type": "MerchantLine"}).json()
    fields = ",".join(f"{f['type']} {f['name']}" for f in doc["types"]["MerchantLine"])
    assert (doc["primaryType"], f"MerchantLine({fields})") == ("MerchantLine", signatures.MERCHANT_LINE_TYPE)
    assert set(doc["types"]) == {"EIP712Domain", "MerchantLine"}
    assert house.client.get("/eip712").json()["primaryType"] == "Obligation"  # unchanged by default


def test_purchase_needs_the_merchants_signature_an_active_line_and_room(house):
    m = new_merchant()
    assert grant(house, "m-1", m.address, 1000, 1).status_code == 201
    missing = house.post("beta", "/obligations", purchase_body(house, "p-0", 10, "m-1", None))
    assert missing.status_code == 422 and missing.json()["field"] == "merchant_signature"
    wrong = house.post("beta", "/obligations", purchase_body(house, "p-0", 10, "m-1", new_merchant().key))
    assert wrong.status_code == 422 and wrong.json()["code"] == "invalid-signature"
    fits = house.post("beta", "/obligations", purchase_body(house, "p-1", 1000, "m-1", m.key))  # exactly the limit
    assert fits.status_code == 201 and fits.json()["obligation"]["status"] == "accepted", fits.text
    assert _line(house, "m-1") | {"created_at": 0, "updated_at": 0} == _line(house, "m-1") | {
        "used": "1000",
        "available": "0",
        "created_at": 0,
        "updated_at": 0,
    }
    over = house.post("beta", "/obligations", purchase_body(house, "p-2", 1, "m-1", m.key))  # limit + 1
    assert over.status_code == 409 and over.json()["code"] == "merchant-line-exhausted"
    assert over.json()["field"] == "amount" and over.json()["values"]["available"] == "0"
    # A retry of the accepted purchase is a replay, not a second charge.
    retry = house.post("beta", "/obligations", purchase_body(house, "p-1", 1000, "m-1", m.key))
    assert retry.status_code == 200 and retry.json()["replayed"] is True
    assert grant(house, "m-1", m.address, 2000, 2).status_code == 200
    assert house.post("alpha", "/merchants/m-1/status", {"status": "frozen"}).json()["status"] == "frozen"
    frozen = house.post("beta", "/obligations", purchase_body(house, "p-3", 1, "m-1", m.key))
    assert frozen.status_code == 409 and frozen.json()["field"] == "on_behalf_of"
    assert house.post("alpha", "/merchants/m-1/status", {"status": "active"}).status_code == 200
    ok = house.post("beta", "/obligations", purchase_body(house, "p-3", 1, "m-1", m.key))
    assert ok.status_code == 201, ok.text


def test_on_behalf_of_naming_no_line_keeps_todays_behaviour(house):
    body = purchase_body(house, "plain-1", 50, "not-a-line", None)
    r = house.post("beta", "/obligations", body)
    assert r.status_code == 201 and r.json()["obligation"]["on_behalf_of"] == "not-a-line"
    # Another platform's line with that id is not the debtor's line.
    assert grant(house, "shared-id", new_merchant().address, 1, 1, issuer="gamma").status_code == 201
    r = house.post("beta", "/obligations", purchase_body(house, "plain-2", 50, "shared-id", None))
    assert r.status_code == 201, r.text


def test_a_batch_with_a_refused_purchase_writes_nothing_and_names_the_item(house):
    m = new_merchant()
    grant(house, "m-1", m.address, 100, 1)
    items = [
        purchase_body(house, "b-1", 60, "m-1", m.key),
        {"id": "b-2", "debtor": "beta", "creditor": "gamma", "amount": "5"},
        purchase_body(house, "b-3", 41, "m-1", m.key),  # 60 + 41 > 100
    ]
    r = house.post("beta", "/obligations/batch", {"items": items})
    assert r.status_code == 422 and r.json()["code"] == "batch-rejected", r.text
    assert [(e["index"], e["field"], e["code"]) for e in r.json()["errors"]] == [
        (2, "items[2].amount", "merchant-line-exhausted")
    ]
    assert _line(house, "m-1")["used"] == "0"
    assert house.get("beta", "/obligations/b-2").status_code == 404
    items[2] = purchase_body(house, "b-3", 40, "m-1", m.key)
    r = house.post("beta", "/obligations/batch", {"items": items})
    assert r.status_code == 200 and r.json()["counts"] == {"accepted": 3}, r.text
    assert _line(house, "m-1")["used"] == "100"


def test_statement_across_two_platforms_and_repayments_free_the_line(house):
    m = new_merchant()
    grant(house, "m-1", m.address, 300, 1)
    assert house.post("beta", "/obligations", purchase_body(house, "s-1", 100, "m-1", m.key)).status_code == 201
    body = purchase_body(house, "s-2", 200, "m-1", m.key, creditor="gamma")
    assert house.post("gamma", "/obligations", body).status_code == 201
    assert house.post("beta", "/obligations", purchase_body(house, "s-3", 1, "m-1", m.key)).status_code == 409
    repay = {"id": "rp-1", "amount": "150", "reference": "transfer"}
    r = house.post("alpha", "/merchants/m-1/repayments", repay)
    assert r.status_code == 201 and r.json()["line"]["used"] == "150", r.text
    again = house.post("alpha", "/merchants/m-1/repayments", repay)
    assert again.status_code == 200 and again.json()["replayed"] and again.json()["line"]["used"] == "150"
    other = house.post("alpha", "/merchants/m-1/repayments", {**repay, "amount": "1"})
    assert other.status_code == 409
    too_much = house.post("alpha", "/merchants/m-1/repayments", {"id": "rp-2", "amount": "151"})
    assert too_much.status_code == 422 and too_much.json()["field"] == "amount"
    assert house.post("beta", "/obligations", purchase_body(house, "s-3", 150, "m-1", m.key)).status_code == 201
    st = house.get("alpha", "/merchants/m-1/statement").json()
    assert [(e["kind"], e["id"], e["amount"], e["creditor"]) for e in st["entries"]] == [
        ("purchase", "s-1", "100", "beta"),
        ("purchase", "s-2", "200", "gamma"),
        ("repayment", "rp-1", "150", None),
        ("purchase", "s-3", "150", "beta"),
    ]
    assert {e["status"] for e in st["entries"] if e["kind"] == "purchase"} == {"accepted"}
    assert (st["line"]["used"], st["line"]["available"], st["next_offset"]) == ("300", "0", None)
    page = house.client.get("/merchants/m-1/statement", params={"limit": 3}, headers=house.headers("alpha")).json()
    assert (len(page["entries"]), page["next_offset"]) == (3, 3)
    rest = house.client.get(
        "/merchants/m-1/statement", params={"offset": 3, "limit": 3}, headers=house.headers("alpha")
    ).json()
    assert [e["id"] for e in rest["entries"]] == ["s-3"] and rest["next_offset"] is None


def test_members_see_only_their_own_lines_and_the_operator_sees_all(house):
    grant(house, "m-1", new_merchant().address, 10, 1)
    grant(house, "g-1", new_merchant().address, 20, 1, issuer="gamma")
    assert [x["merchant"] for x in house.get("alpha", "/merchants").json()] == ["m-1"]
    assert house.get("beta", "/merchants").json() == []
    assert house.get("beta", "/merchants/m-1").status_code == 404
    assert house.get("beta", "/merchants/m-1/statement").status_code == 404
    assert house.post("beta", "/merchants/m-1/repayments", {"id": "x", "amount": "1"}).status_code == 404
    assert house.post("beta", "/merchants/m-1/status", {"status": "frozen"}).status_code == 404
    assert [(x["issuer"], x["merchant"]) for x in house.get("operator", "/merchants").json()] == [
        ("alpha", "m-1"),
        ("gamma", "g-1"),
    ]
    assert house.get("operator", "/merchants/m-1").status_code == 422  # which platform's m-1?
    assert (
        house.client.get("/merchants/m-1", params={"member": "alpha"}, headers=house.headers("operator")).json()[
            "limit"
        ]
        == "10"
    )
    assert house.post("operator", "/merchants/m-1/status", {"status": "frozen"}).status_code == 403
    assert house.get("auditor", "/merchants").status_code == 403


def test_merchant_exposure_counts_in_the_platforms_headroom(house):
    before = int(house.get("alpha", "/members/me").json()["headroom"])
    m = new_merchant()
    grant(house, "m-1", m.address, 10**6, 1)
    assert house.post("beta", "/obligations", purchase_body(house, "h-1", 7000, "m-1", m.key)).status_code == 201
    # B is the debtor: the purchase reserves B's headroom like any obligation B owes.
    assert int(house.get("alpha", "/members/me").json()["headroom"]) == before - 7000
    assert int(house.get("beta", "/members/me").json()["headroom"]) >= 0


@pytest.mark.parametrize("path", ["/merchants/m%2F1", "/merchants/" + "m" * 129])
def test_bad_merchant_ids_are_refused(house, path):
    assert house.get("alpha", path).status_code in (404, 422)


def test_the_domain_is_the_obligations(house):
    assert DOMAIN.chain_id == house.ctx.signing_domain.chain_id
