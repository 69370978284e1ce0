"""`clearing dev fund` takes its chain from the settings `clearing serve` uses."""

from __future__ import annotations

import json
import subprocess

import httpx
import pytest

from clearing.adapters.chain import backends
from clearing.adapters.chain.deploy import Contracts, Deployment, deploy
from clearing.bootstrap import build_service
from clearing.services import members
from clearing.settings import Settings
from tests.conftest import CLEARING_EXE, OPERATOR, clearing_env, clearing_serve


def _fund(cwd, env, *args):
    return subprocess.run(
        [CLEARING_EXE, "dev", "fund", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_without_a_chain_it_says_which_settings_to_set(tmp_path):
    proc = _fund(tmp_path, clearing_env(), "--account", "1", "--amount", "5")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "CLEARING_CHAIN__RPC_URL" in lines[0] and "CLEARING_CHAIN__BACKEND=rpc" in lines[0]


@pytest.fixture(scope="module")
def anvil_deployment(tmp_path_factory):
    chain = backends.spawn_anvil()
    path = tmp_path_factory.mktemp("deployments") / "localhost.json"
    deploy(chain, network="localhost").save(path)
    yield chain, path
    chain.close()


@pytest.mark.anvil
def test_the_chain_comes_from_the_serve_settings(tmp_path, anvil_deployment):
    chain, deployment = anvil_deployment
    env = _chain_env(chain, deployment)
    c = Contracts.attach(chain, Deployment.load(deployment))
    who = chain.accounts[3].address
    c.house.admit(who)
    proc = _fund(tmp_path, env, "--account", "3", "--amount", "7000")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["account"] == who and out["deposited"] == "7000"
    assert c.house.member(who).balance == 7000


def _chain_env(chain, deployment, **more):
    return clearing_env(
        CLEARING_CHAIN__BACKEND="rpc",
        CLEARING_CHAIN__RPC_URL=chain.rpc_url,
        CLEARING_CHAIN__DEPLOYMENT=str(deployment),
        **more,
    )


@pytest.mark.anvil
def test_it_returns_once_the_running_service_has_synced_the_deposit(tmp_path, anvil_deployment):
    chain, deployment = anvil_deployment
    port = backends.free_port()
    env = _chain_env(
        chain,
        deployment,
        CLEARING_DATABASE_URL=f"sqlite:///{tmp_path / 'ledger.db'}",
        CLEARING_API__OPERATOR_KEY="op-key",
        CLEARING_API__PORT=str(port),
    )
    base = f"http://127.0.0.1:{port}"
    who = chain.accounts[4].address
    with clearing_serve(tmp_path, env, port):
        admitted = httpx.post(
            f"{base}/members",
            headers={"Authorization": "Bearer op-key"},
            json={"name": "delta", "address": who, "tier": "A", "credit_line": "0"},
        )
        assert admitted.status_code == 201, admitted.text
        member = {"Authorization": f"Bearer {admitted.json()['api_key']}"}

        proc = _fund(tmp_path, env, "--account", "4", "--amount", "9000")

        assert proc.returncode == 0, proc.stderr
        assert "the service's chain sync has the deposit" in proc.stderr
        # No polling here: when dev fund returns, the service counts the deposit.
        me = httpx.get(f"{base}/members/me", headers=member).json()
        assert me["member"]["liquidity"]["collateral"] == "9000"


@pytest.mark.anvil
def test_without_a_service_syncing_it_gives_up_in_one_line(tmp_path, anvil_deployment):
    chain, deployment = anvil_deployment
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    c = Contracts.attach(chain, Deployment.load(deployment))
    ctx = build_service(Settings(database_url=url), contracts=c, migrate=True)
    members.admit(ctx, OPERATOR, name="echo", address=chain.accounts[5].address, tier="A", credit_line=0)

    proc = _fund(
        tmp_path,
        _chain_env(chain, deployment, CLEARING_DATABASE_URL=url),
        "--account",
        "5",
        "--amount",
        "10",
        "--timeout",
        "1",
    )

    assert proc.returncode == 1
    assert "waiting for the service's chain sync" in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: deposited in block") and "is `clearing serve` running" in last
