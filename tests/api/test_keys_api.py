"""API keys over HTTP: list, rotate with an overlap, revoke; members manage only their own."""

from __future__ import annotations


def _as(house, key: str, path: str):
    return house.client.get(path, headers={"Authorization": f"Bearer {key}"})


def _keys(house, who: str, path: str) -> list[dict]:
    r = house.get(who, path)
    assert r.status_code == 200, r.text
    return r.json()


def test_operator_rotates_with_overlap_and_revokes(house):
    [alpha_key] = _keys(house, "operator", "/members/alpha/keys")
    assert alpha_key["active"] and alpha_key["member"] == "alpha" and "key_hash" not in alpha_key
    r = house.post("operator", f"/members/alpha/keys/{alpha_key['id']}/rotate", {"overlap_seconds": 600})
    assert r.status_code == 201, r.text
    new_key, old = r.json()["api_key"], r.json()["old"]
    assert old["expires_at"] is not None and old["active"]
    old_key = house.keys["alpha"]
    assert _as(house, old_key, "/members/me").status_code == 200  # still works during the overlap
    assert _as(house, new_key, "/members/me").status_code == 200
    new_id = r.json()["new"]["id"]
    r = house.post("operator", f"/members/alpha/keys/{new_id}/revoke", {})
    assert r.status_code == 200 and r.json()["revoked_at"] is not None and not r.json()["active"]
    bad = _as(house, new_key, "/members/me")
    assert bad.status_code == 401 and bad.headers["content-type"].startswith("application/problem+json")
    # another member's key under this member's name is not found
    [beta_key] = _keys(house, "operator", "/members/beta/keys")
    assert house.post("operator", f"/members/alpha/keys/{beta_key['id']}/revoke", {}).status_code == 404
    assert house.post("operator", f"/members/nobody/keys/{beta_key['id']}/revoke", {}).status_code == 404


def test_member_rotates_its_own_key_and_records_last_use(house):
    [mine] = _keys(house, "alpha", "/members/me/keys")
    assert mine["last_used_at"] is not None  # the request that listed it
    r = house.post("alpha", "/members/me/keys/rotate", {"overlap_seconds": 0, "label": "deploy 2"})
    assert r.status_code == 201, r.text
    new_key = r.json()["api_key"]
    assert r.json()["new"]["label"] == "deploy 2" and r.json()["old"]["revoked_at"] is not None
    assert _as(house, house.keys["alpha"], "/members/me").status_code == 401  # overlap 0: at once
    assert _as(house, new_key, "/members/me").status_code == 200
    house.keys["alpha"] = new_key
    [beta_key] = _keys(house, "operator", "/members/beta/keys")
    assert house.post("alpha", f"/members/me/keys/{beta_key['id']}/revoke", {}).status_code == 404
    assert _as(house, house.keys["beta"], "/members/me").status_code == 200
    assert house.get("alpha", "/members/beta/keys").status_code == 403


def test_bad_key_requests_are_4xx_naming_the_field(house):
    [mine] = _keys(house, "alpha", "/members/me/keys")
    for body in ({"overlap_seconds": -1}, {"overlap_seconds": 10**9}, {"overlap_seconds": 1.5}):
        r = house.post("alpha", "/members/me/keys/rotate", body)
        assert r.status_code == 422 and r.json()["field"] == "overlap_seconds", r.text
    r = house.post("operator", f"/members/alpha/keys/{2**64}/revoke", {})
    assert r.status_code == 422 and r.json()["field"] == "key_id"
    assert house.post("alpha", "/members/me/keys/rotate", {"overlap": 5}).status_code == 422
    assert house.post("auditor", f"/members/alpha/keys/{mine['id']}/revoke", {}).status_code == 403
