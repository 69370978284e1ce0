"""`clearing serve`'s start path never deletes a ledger, and refuses one that belongs to another chain.

Each test runs the real command in its own directory (the default ledger is
``.clearing/clearing.db`` relative to it) with no CLEARING_* of the caller's.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import func, select

from clearing.adapters.chain import backends
from clearing.adapters.chain.deploy import Contracts, deploy
from clearing.adapters.db import migrate
from clearing.adapters.db.models import Member
from clearing.bootstrap import build_service
from clearing.services import members
from clearing.settings import Settings
from tests.conftest import CLEARING_EXE, OPERATOR, clearing_env, clearing_serve


def _ledger_with_a_member(path: Path, contracts: Contracts | None = None) -> str:
    url = f"sqlite:///{path}"
    migrate(url)
    ctx = build_service(Settings(database_url=url), contracts=contracts, with_chain=contracts is not None)
    members.admit(ctx, OPERATOR, name="alpha", address="0x" + "11" * 20, tier="A", credit_line=0)
    ctx.engine.dispose()
    return url


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_serve_on_the_embedded_chain_keeps_the_existing_default_ledger(tmp_path):
    default = tmp_path / ".clearing" / "clearing.db"
    default.parent.mkdir()
    _ledger_with_a_member(default)
    before = _digest(default)

    with clearing_serve(tmp_path, clearing_env(), backends.free_port()) as server:
        pass
    err = server.stderr_text

    assert default.exists() and _digest(default) == before
    assert "fresh ledger" not in err
    new = re.search(r"this run's ledger is (\S+)", err)
    assert new, err
    fresh = tmp_path / new.group(1)
    assert fresh.exists() and fresh != default
    assert "ledger-embedded-" in fresh.name and fresh.parent == default.parent


def _one_line_refusal(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ledger ") and "CLEARING_DATABASE_URL" in lines[0]
    return lines[0]


def test_serve_refuses_a_ledger_bound_to_another_chain(tmp_path):
    earlier = backends.embedded()
    path = tmp_path / "kept.db"
    url = _ledger_with_a_member(path, Contracts.attach(earlier, deploy(earlier, network="embedded")))
    before = _digest(path)

    proc = subprocess.run(
        [CLEARING_EXE, "serve", "--port", str(backends.free_port())],
        cwd=tmp_path,
        env=clearing_env(CLEARING_DATABASE_URL=url),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert "starts a new chain in this process" in _one_line_refusal(proc)
    assert _digest(path) == before


@pytest.mark.anvil
def test_serve_on_rpc_refuses_a_ledger_of_another_anvil(tmp_path):
    with (
        backends.spawn_anvil(extra_args=("--timestamp", "1700000000")) as first,
        backends.spawn_anvil(extra_args=("--timestamp", "1700000100")) as second,
    ):
        url = _ledger_with_a_member(tmp_path / "kept.db", Contracts.attach(first, deploy(first, network="localhost")))
        deployment = tmp_path / "deployments" / "localhost.json"
        deploy(second, network="localhost").save(deployment)
        env = clearing_env(
            CLEARING_DATABASE_URL=url,
            CLEARING_CHAIN__BACKEND="rpc",
            CLEARING_CHAIN__RPC_URL=second.rpc_url,
            CLEARING_CHAIN__DEPLOYMENT=str(deployment),
        )
        proc = subprocess.run(
            [CLEARING_EXE, "serve", "--port", str(backends.free_port())],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert "not to the configured chain" in _one_line_refusal(proc)
        ctx = build_service(Settings(database_url=url), with_chain=False)
        with ctx.uow(read_only=True) as uow:
            assert uow.session.scalar(select(func.count()).select_from(Member)) == 1


def test_serve_refuses_more_workers_on_sqlite_in_one_line(tmp_path):
    """Workers elect the chain writer with a PostgreSQL advisory lock: on SQLite each would send alone."""
    env = clearing_env(
        CLEARING_DATABASE_URL=f"sqlite:///{tmp_path / 'ledger.db'}",
        CLEARING_CHAIN__BACKEND="rpc",
        CLEARING_CHAIN__RPC_URL="http://127.0.0.1:9",
    )
    proc = subprocess.run(
        [CLEARING_EXE, "serve", "--port", str(backends.free_port()), "--workers", "2"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("error: ") and "PostgreSQL" in line and "--workers 1" in line
    assert not (tmp_path / "ledger.db").exists()
