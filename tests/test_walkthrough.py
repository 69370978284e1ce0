"""The README walkthrough as a new user runs it: Anvil, deploy, `clearing serve`,
members and obligations over HTTP, a cycle settled on chain, the auditor's checks.

Every step is a real process or a real HTTP request (what curl would send).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from clearing.adapters.chain import backends

ROOT = Path(__file__).resolve().parents[1]
CLEARING = str(Path(sys.executable).with_name("clearing"))
DEV = backends.dev_accounts()

pytestmark = [pytest.mark.anvil, pytest.mark.slow]


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([CLEARING, *args], cwd=env["WORKDIR"], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"clearing {' '.join(args)}: {proc.stderr[-2000:]}"
    return proc


def _wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stderr.read().decode()[-3000:] if proc.stderr else ''}")
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("server did not start")


def test_readme_walkthrough(tmp_path):
    chain = backends.spawn_anvil()
    port = backends.free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "WORKDIR": str(tmp_path),
        "CLEARING_CHAIN__BACKEND": "rpc",
        "CLEARING_CHAIN__RPC_URL": chain.rpc_url,
        "CLEARING_CHAIN__DEPLOYMENT": str(tmp_path / "deployments" / "localhost.json"),
        "CLEARING_DATABASE_URL": f"sqlite:///{tmp_path / 'ledger.db'}",
        "CLEARING_API__OPERATOR_KEY": "op-walkthrough-key",
        "CLEARING_API__AUDITOR_KEY": "audit-walkthrough-key",
        "CLEARING_API__PORT": str(port),
    }
    server = None
    try:
        _run("deploy", "--rpc-url", chain.rpc_url, "--network", "localhost", env=env)
        server = subprocess.Popen(
            [CLEARING, "serve"], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        _wait_http(base, server)
        op = {"Authorization": "Bearer op-walkthrough-key"}
        auditor = {"Authorization": "Bearer audit-walkthrough-key"}

        keys = {}
        for name, acct, tier in (("alpha-games", DEV[1], "A"), ("beta-cards", DEV[2], "B")):
            r = httpx.post(
                f"{base}/members",
                headers=op,
                json={"name": name, "address": acct.address, "tier": tier, "credit_line": "0"},
            )
            assert r.status_code == 201, r.text
            keys[name] = {"Authorization": f"Bearer {r.json()['api_key']}"}
        _run("dev", "fund", "--account", "1", "--amount", "5000000", env=env)
        _run("dev", "fund", "--account", "2", "--amount", "5000000", env=env)
        deadline = time.monotonic() + 30  # the server's chain sync picks the deposits up
        while (
            httpx.get(f"{base}/members/me", headers=keys["alpha-games"]).json()["member"]["liquidity"]["collateral"]
            != "5000000"
        ):
            assert time.monotonic() < deadline, "deposit never reached the ledger mirror"
            time.sleep(0.5)

        r = httpx.post(
            f"{base}/obligations/batch",
            headers=keys["alpha-games"],
            json={
                "items": [
                    {"id": "w-1", "debtor": "alpha-games", "creditor": "beta-cards", "amount": "1200000"},
                    {"id": "w-2", "debtor": "alpha-games", "creditor": "beta-cards", "amount": "300000"},
                ]
            },
        )
        assert r.status_code in (200, 201), r.text
        r = httpx.post(
            f"{base}/obligations",
            headers=keys["beta-cards"],
            json={"id": "w-3", "debtor": "beta-cards", "creditor": "alpha-games", "amount": "500000"},
        )
        assert r.status_code == 201, r.text

        cycle = httpx.post(f"{base}/cycles", headers=op).json()
        settled = httpx.post(f"{base}/cycles/{cycle['id']}/settle", headers=op, timeout=60)
        assert settled.status_code == 200, settled.text
        assert settled.json()["state"] == "SETTLED"
        assert settled.json()["positions"] == {"alpha-games": "-1000000", "beta-cards": "1000000"}

        report = httpx.get(f"{base}/audit/verify", headers=auditor, timeout=60).json()
        assert report["ok"], report
        proof = httpx.get(f"{base}/audit/obligations/w-1/proof", headers=auditor).json()
        (tmp_path / "proof.json").write_text(json.dumps(proof))
        out = _run("audit", "check-proof", str(tmp_path / "proof.json"), "--rpc-url", chain.rpc_url, env=env)
        assert out.stdout.startswith("proof valid")
        verify = _run("audit", "verify", env=env)
        assert json.loads(verify.stdout)["ok"] is True
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        chain.close()
