"""POST /obligations/batch: one transaction, per-item outcomes, all-or-nothing on request errors."""

from __future__ import annotations

from sqlalchemy import func, select

from clearing.adapters.db.models import Obligation


def ob(id: str, debtor: str = "alpha", creditor: str = "beta", amount: object = "10", **kw: object) -> dict:
    return {"id": id, "debtor": debtor, "creditor": creditor, "amount": amount, **kw}


def rows(house) -> int:
    with house.ctx.uow(read_only=True) as uow:
        return uow.session.scalar(select(func.count()).select_from(Obligation))


def test_batch_records_every_item_with_its_outcome(house):
    house.add("tight", collateral=25)
    items = [ob(f"b-{i}", debtor="tight", creditor="alpha" if i % 2 else "beta") for i in range(4)]
    r = house.post("tight", "/obligations/batch", {"items": items})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["count"] == 4 and body["replayed"] == 0
    statuses = [i["status"] for i in body["items"]]
    # 25 of headroom: two of 10 fit, the rest queue (never dropped) with their shortfall
    assert statuses == ["accepted", "accepted", "queued_beyond_headroom", "queued_beyond_headroom"]
    assert [i["shortfall"] for i in body["items"][2:]] == ["5", "10"] or [
        i["shortfall"] for i in body["items"][2:]
    ] == ["5", "5"]
    assert body["counts"] == {"accepted": 2, "queued_beyond_headroom": 2}
    assert [i["index"] for i in body["items"]] == [0, 1, 2, 3]
    assert rows(house) == 4


def test_batch_retry_is_replayed(house):
    items = [ob(f"r-{i}") for i in range(5)]
    first = house.post("alpha", "/obligations/batch", {"items": items}).json()
    again = house.post("alpha", "/obligations/batch", {"items": items}).json()
    assert again["replayed"] == 5 and all(i["replayed"] for i in again["items"])
    assert [i["status"] for i in again["items"]] == [i["status"] for i in first["items"]]
    # a batch overlapping a previous one: old ids replay, new ones are recorded
    mixed = house.post("alpha", "/obligations/batch", {"items": items[:2] + [ob("r-new")]}).json()
    assert [i["replayed"] for i in mixed["items"]] == [True, True, False]
    assert rows(house) == 6


def test_one_malformed_item_rejects_the_whole_batch(house):
    items = [ob(f"m-{i}") for i in range(5)]
    items[3]["amount"] = "1.5"
    items[4]["amount"] = -1
    r = house.post("alpha", "/obligations/batch", {"items": items})
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    p = r.json()
    assert p["field"] == "items[3].amount"
    assert p["values"]["invalid_items"] == [3, 4]
    assert {e["index"] for e in p["errors"]} == {3, 4}
    assert rows(house) == 0


def test_unknown_member_or_bad_signature_rejects_the_whole_batch(house):
    items = [ob("u-0"), ob("u-1", creditor="nobody"), ob("u-2", debtor="beta", creditor="alpha")]
    r = house.post("alpha", "/obligations/batch", {"items": items})
    assert r.status_code == 422
    p = r.json()
    assert [(e["index"], e["field"]) for e in p["errors"]] == [(1, "items[1].creditor"), (2, "items[2].signature")]
    assert rows(house) == 0


def test_conflicting_ids_reject_the_batch_with_409(house):
    house.post("alpha", "/obligations", ob("k-1"))
    r = house.post("alpha", "/obligations/batch", {"items": [ob("k-0"), ob("k-1", amount="11")]})
    assert r.status_code == 409
    assert r.json()["errors"][0]["id"] == "k-1" and r.json()["errors"][0]["index"] == 1
    # the same id twice inside one batch with different bodies
    r = house.post("alpha", "/obligations/batch", {"items": [ob("k-2"), ob("k-2", amount="11")]})
    assert r.status_code == 409
    assert rows(house) == 1
    # the same id twice with the same body is one obligation
    r = house.post("alpha", "/obligations/batch", {"items": [ob("k-3"), ob("k-3")]})
    assert r.status_code == 200 and [i["replayed"] for i in r.json()["items"]] == [False, True]
    assert rows(house) == 2


def test_batch_limits(house):
    assert house.post("alpha", "/obligations/batch", {"items": []}).status_code == 422
    house.ctx.settings.api.max_batch = 3
    r = house.post("alpha", "/obligations/batch", {"items": [ob(f"l-{i}") for i in range(4)]})
    assert r.status_code == 422 and r.json()["field"] == "items"


def test_creditor_batch_with_signatures(house):
    items = []
    for i in range(3):
        sig = house.sign("alpha", id=f"sig-{i}", creditor="beta", amount=10, reference="ref")
        items.append(ob(f"sig-{i}", reference="ref", signature=sig))
    r = house.post("beta", "/obligations/batch", {"items": items})
    assert r.status_code == 200, r.text
    assert rows(house) == 3


def test_large_batch(sqlite_house):
    house = sqlite_house
    items = [ob(f"big-{i}", creditor="beta" if i % 2 else "gamma", amount=str(1 + i)) for i in range(10_000)]
    r = house.post("alpha", "/obligations/batch", {"items": items})
    assert r.status_code == 200
    assert r.json()["count"] == 10_000
    assert rows(house) == 10_000
