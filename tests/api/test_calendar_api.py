"""The event calendar over HTTP: operators add (idempotently) and remove named days, every key reads them,
every change is audited, bad input is a 422 problem naming the field."""

from __future__ import annotations

from sqlalchemy import select

from clearing.adapters.db.models import AuditLog


def test_operators_add_idempotently_and_every_key_reads(house):
    r = house.post("operator", "/calendar/events", {"date": "2026-11-11", "name": "double-11"})
    assert r.status_code == 201, r.text
    first = r.json()
    assert (first["date"], first["name"], first["created_by"]) == ("2026-11-11", "double-11", "operator:bootstrap")
    again = house.post("operator", "/calendar/events", {"date": "2026-11-11", "name": "double-11"})
    assert again.status_code == 200 and again.json() == first  # the existing row, nothing new
    other = house.post("operator", "/calendar/events", {"date": "2026-11-11", "name": "payday"})
    assert other.status_code == 201 and other.json()["id"] != first["id"]
    house.post("operator", "/calendar/events", {"date": "2026-10-25", "name": "payday"})
    for who in ("alpha", "auditor", "operator"):
        r = house.get(who, "/calendar/events")
        assert r.status_code == 200, (who, r.text)
        assert [(e["date"], e["name"]) for e in r.json()] == [
            ("2026-10-25", "payday"),
            ("2026-11-11", "double-11"),
            ("2026-11-11", "payday"),
        ]
    assert house.client.get("/calendar/events").status_code == 401


def test_only_operators_write_and_removal_is_audited(house):
    body = {"date": "2026-12-12", "name": "double-12"}
    for who in ("alpha", "auditor"):
        r = house.post(who, "/calendar/events", body)
        assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
    event = house.post("operator", "/calendar/events", body).json()
    path = f"/calendar/events/{event['id']}"
    assert house.client.delete(path, headers=house.headers("alpha")).status_code == 403
    r = house.client.delete(path, headers=house.headers("operator"))
    assert r.status_code == 200 and r.json() == event
    assert house.get("auditor", "/calendar/events").json() == []
    gone = house.client.delete(path, headers=house.headers("operator"))
    assert gone.status_code == 404 and gone.json()["field"] == "event_id"
    with house.ctx.uow(read_only=True) as uow:
        rows = list(
            uow.session.execute(
                select(AuditLog.action, AuditLog.payload)
                .where(AuditLog.action.like("calendar.%"))
                .order_by(AuditLog.id)
            )
        )
    assert [(a, p["name"], p["date"]) for a, p in rows] == [
        ("calendar.add", "double-12", "2026-12-12"),
        ("calendar.remove", "double-12", "2026-12-12"),
    ]


def test_bad_dates_and_names_are_problems_naming_the_field(house):
    cases = [
        ({"date": "2026-02-30", "name": "payday"}, "date"),
        ({"date": "11/11/2026", "name": "payday"}, "date"),
        ({"date": 20261111, "name": "payday"}, "date"),
        ({"date": 0, "name": "payday"}, "date"),  # a JSON number is no day (not a Unix time either)
        ({"date": "2026-11-11T00:00:00Z", "name": "payday"}, "date"),
        ({"name": "payday"}, "date"),
        ({"date": "2026-11-11", "name": "Double 11"}, "name"),
        ({"date": "2026-11-11", "name": "-sale"}, "name"),
        ({"date": "2026-11-11", "name": ""}, "name"),
        ({"date": "2026-11-11", "name": "x" * 65}, "name"),
        ({"date": "2026-11-11", "name": "sale", "extra": 1}, "extra"),
    ]
    for body, field in cases:
        r = house.post("operator", "/calendar/events", body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["field"] == field, (body, r.json())
    assert house.get("operator", "/calendar/events").json() == []
