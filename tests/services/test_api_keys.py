"""Revocation reaches every process's key cache; rotation overlaps; last use is recorded."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from clearing.bootstrap import build_service
from clearing.errors import Conflict, NotFound, Unauthorized, ValidationError
from clearing.services import api_keys
from clearing.settings import ApiSettings, Settings
from tests.conftest import OPERATOR, admit_member


class Clock:
    def __init__(self) -> None:
        self.t = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.t


def _process(database, *, ttl: float = 60.0, check: float = 0.2, clock=None):
    """One server process: its own key cache, long-lived (a revocation must not wait for it to expire)."""
    settings = Settings(
        database_url=database.url, api=ApiSettings(auth_cache_seconds=ttl, auth_change_check_seconds=check)
    )
    kw = {"clock": clock} if clock is not None else {}
    return build_service(settings, engine=database.engine, with_chain=False, **kw)


def _auth(ctx, key: str):
    """What a request does: the cache, else the ledger."""
    return ctx.keys.cached(key) or api_keys.authenticate(ctx, key)


def _key_id(ctx, member: str) -> int:
    [k] = api_keys.list_keys(ctx, member=member)
    return k.id


def test_revoked_key_fails_at_once_here_and_soon_everywhere(db):
    here, there = _process(db), _process(db)
    key = admit_member(here, "alpha").api_key
    assert _auth(here, key).member_name == "alpha" and _auth(there, key).member_name == "alpha"
    assert here.keys.cached(key) is not None and there.keys.cached(key) is not None  # both cached for 60 s
    api_keys.revoke(here, OPERATOR, _key_id(here, "alpha"))
    with pytest.raises(Unauthorized):  # this process dropped it: at once
        _auth(here, key)
    time.sleep(0.25)  # the other reads the change log within auth_change_check_seconds (0.2 s here)
    assert there.keys.cached(key) is None
    with pytest.raises(Unauthorized):
        _auth(there, key)


def test_with_no_check_interval_every_process_sees_a_revocation_at_once(db):
    here, there = _process(db), _process(db, check=0)
    key = admit_member(here, "alpha").api_key
    assert _auth(there, key).member_name == "alpha"
    api_keys.revoke(here, OPERATOR, _key_id(here, "alpha"))
    with pytest.raises(Unauthorized):
        _auth(there, key)


def test_rotation_overlaps_then_the_old_key_expires(db):
    clock = Clock()
    ctx = _process(db, clock=clock)
    old_key = admit_member(ctx, "alpha").api_key
    old_id = _key_id(ctx, "alpha")
    done = api_keys.rotate(ctx, OPERATOR, old_id, overlap_seconds=600, member="alpha")
    assert done.old.expires_at == clock.t + timedelta(seconds=600) and done.old.active
    assert _auth(ctx, old_key).key_id == old_id and _auth(ctx, done.api_key).key_id == done.new.id
    clock.t += timedelta(seconds=600)  # the cached entry must not outlive the overlap
    with pytest.raises(Unauthorized):
        _auth(ctx, old_key)
    assert _auth(ctx, done.api_key).member_name == "alpha"
    with pytest.raises(Conflict):  # an expired key cannot be rotated again
        api_keys.rotate(ctx, OPERATOR, old_id, overlap_seconds=0)
    now = api_keys.rotate(ctx, OPERATOR, done.new.id, overlap_seconds=0)  # 0: revoked at once
    assert now.old.revoked_at == clock.t and not now.old.active
    with pytest.raises(Unauthorized):
        _auth(ctx, done.api_key)
    with pytest.raises(ValidationError) as err:
        api_keys.rotate(ctx, OPERATOR, now.new.id, overlap_seconds=-1)
    assert err.value.field == "overlap_seconds"


def test_last_use_is_recorded_at_most_once_a_minute_per_process(db):
    clock = Clock()
    ctx = _process(db, ttl=0, clock=clock)
    key = admit_member(ctx, "alpha").api_key
    [before] = api_keys.list_keys(ctx, member="alpha")
    assert before.last_used_at is None
    _auth(ctx, key)
    first = clock.t
    clock.t += timedelta(seconds=30)
    _auth(ctx, key)  # within the minute: not written again
    [after] = api_keys.list_keys(ctx, member="alpha")
    assert after.last_used_at == first


def test_keys_are_scoped_to_their_member(db):
    ctx = _process(db)
    admit_member(ctx, "alpha")
    admit_member(ctx, "beta")
    beta_key = _key_id(ctx, "beta")
    alpha_id = api_keys.list_keys(ctx, member="alpha")[0].id
    with pytest.raises(NotFound):
        api_keys.revoke(ctx, OPERATOR, beta_key, member="alpha")
    with pytest.raises(NotFound):
        api_keys.rotate(ctx, OPERATOR, beta_key, overlap_seconds=0, member_id=alpha_id + 10_000)
    assert [k.active for k in api_keys.list_keys(ctx, member="beta")] == [True]
