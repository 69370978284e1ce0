"""The chain writer's lease: one holder at a time on PostgreSQL, taken over when the holder's session ends."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid

import pytest
from sqlalchemy import text

from clearing.adapters.db.lease import AdvisoryLease, AlwaysHeld, for_database
from tests.conftest import ROOT, clearing_env

HOLDER = """
import sys, time
from clearing.adapters.db.lease import AdvisoryLease
lease = AdvisoryLease(sys.argv[1], sys.argv[2])
assert lease.acquire()
print("held", flush=True)
time.sleep(600)
"""


def _name() -> str:
    return f"test-lease-{uuid.uuid4().hex}"


def _eventually(check, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_on_sqlite_the_one_process_always_holds_it(tmp_path):
    lease = for_database(f"sqlite:///{tmp_path / 'ledger.db'}", "writer")
    assert isinstance(lease, AlwaysHeld) and lease.acquire() and lease.held


@pytest.mark.postgres
def test_one_holder_at_a_time_and_the_next_takes_it_once_released(pg_db):
    name = _name()
    first, second = (
        AdvisoryLease(pg_db.url, name, retry_seconds=0.05),
        AdvisoryLease(pg_db.url, name, retry_seconds=0.05),
    )
    try:
        assert isinstance(for_database(pg_db.url, name), AdvisoryLease)
        assert first.acquire() and first.held and first.generation == 1
        assert not second.acquire() and not second.held
        assert first.acquire()  # still held: its session is alive
        first.release()
        assert _eventually(second.acquire)
        assert not first.acquire()
    finally:
        first.release()
        second.release()


@pytest.mark.postgres
def test_a_holder_whose_connection_dies_loses_the_lease_and_another_takes_it_over(pg_db):
    name = _name()
    holder, other = (
        AdvisoryLease(pg_db.url, name, retry_seconds=0.05),
        AdvisoryLease(pg_db.url, name, retry_seconds=0.05),
    )
    try:
        assert holder.acquire()
        assert not other.acquire()
        with pg_db.engine.connect() as conn:  # the network drops the holder's session (or its server process dies)
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": holder.backend_pid()})
        assert _eventually(other.acquire)
        assert not holder.acquire() and not holder.held  # it notices before acting on a lease it lost
        assert other.generation == 1
    finally:
        holder.release()
        other.release()


@pytest.mark.postgres
def test_when_the_holding_process_is_killed_another_process_takes_over(pg_db):
    name = _name()
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, pg_db.url, name],
        cwd=ROOT,
        env=clearing_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    lease = AdvisoryLease(pg_db.url, name, retry_seconds=0.05)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        assert not lease.acquire()
        proc.kill()  # SIGKILL: no clean-up of its own, the server sees the session end
        proc.wait(timeout=10)
        started = time.monotonic()
        assert _eventually(lease.acquire), "the lease was not taken over"
        assert time.monotonic() - started < 10
    finally:
        if proc.poll() is None:
            proc.kill()
        lease.release()
