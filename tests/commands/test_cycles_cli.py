"""Item 13: `clearing cycles ...` drives the release modes of a running server over real HTTP (uvicorn)."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from datetime import UTC, datetime

import httpx
import pytest
import uvicorn

from clearing.adapters.chain import backends
from clearing.api.app import create_app
from clearing.services import chain_sync
from tests.api.conftest import OPERATOR_KEY, chain_app_house
from tests.commands.cli_runner import run_clearing


@pytest.fixture
def server(sqlite_db):
    ctx, contracts = chain_app_house(sqlite_db)
    port = backends.free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(ctx), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", ctx, contracts
    finally:
        srv.should_exit = True
        thread.join(timeout=20)


def _clearing(url: str, *args: str, key: str | None = OPERATOR_KEY) -> subprocess.CompletedProcess[str]:
    return run_clearing(url, *args, operator_key=key, timeout=300)


def test_cycles_commands_commit_release_hold_and_refund(server):
    url, ctx, contracts = server
    op = {"Authorization": f"Bearer {OPERATOR_KEY}"}
    keys, accts = {}, {}
    for i, name in enumerate(("alpha", "beta"), start=1):
        accts[name] = contracts.chain.accounts[i]
        r = httpx.post(f"{url}/members", headers=op, json={"name": name, "address": accts[name].address, "tier": "A"})
        keys[name] = {"Authorization": f"Bearer {r.json()['api_key']}"}
        contracts.fund_member(accts[name], 1_000_000)
    chain_sync.sync(ctx.sessions, contracts)
    r = httpx.post(
        f"{url}/obligations",
        headers=keys["alpha"],
        json={"id": "c-1", "debtor": "alpha", "creditor": "beta", "amount": "90000"},
    )
    assert r.status_code == 201, r.text
    cid = str(json.loads(_clearing(url, "cycles", "open").stdout)["id"])

    committed = _clearing(url, "cycles", "commit", cid)
    assert committed.returncode == 0, committed.stderr
    assert json.loads(committed.stdout)["state"] == "COMMITTED"
    beta = accts["beta"].address
    out = _clearing(url, "cycles", "release-partial", cid, "--id", "p-1", "--amount", "beta=10000")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["escrow"]["pending"] == {"beta": "80000"}
    assert contracts.house.balance_of(beta) == 1_010_000
    out = _clearing(url, "cycles", "release-pro-rata", cid, "--id", "pr-1", "--bps", "2500")
    assert out.returncode == 0 and json.loads(out.stdout)["escrow"]["pending"] == {"beta": "60000"}
    until = contracts.chain.timestamp() + 600
    out = _clearing(url, "cycles", "hold", cid, "--until", datetime.fromtimestamp(until, UTC).isoformat())
    assert out.returncode == 0, out.stderr
    # Refused while held: one readable line, non-zero exit.
    refused = _clearing(url, "cycles", "release", cid)
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.count("\n") == 1 and "held until" in refused.stderr and "409" in refused.stderr
    out = _clearing(url, "cycles", "refund", cid, "--id", "f-1", "--cancel", "beta=60000", "--refund", "alpha=60000")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["escrow"]["state"] == "SETTLED"
    assert contracts.house.balance_of(accts["alpha"].address) == 1_000_000 - 30_000
    assert json.loads(_clearing(url, "cycles", "escrow", cid).stdout)["escrowed"] == "0"

    bad = _clearing(url, "cycles", "release-partial", cid, "--id", "p-2", "--amount", "beta=ten")
    assert bad.returncode == 2 and "MEMBER=UNITS" in bad.stderr
    nokey = _clearing(url, "cycles", "list", key=None)
    assert nokey.returncode == 2 and "operator key" in nokey.stderr
    down = _clearing("http://127.0.0.1:9", "cycles", "list")
    assert down.returncode == 1 and down.stderr.startswith("error: cannot reach the server")
