"""`clearing dev fund` takes its chain from the settings `clearing serve` uses."""

from __future__ import annotations

import json
import subprocess

import pytest

from clearing.adapters.chain import backends
from clearing.adapters.chain.deploy import Contracts, Deployment, deploy
from tests.conftest import CLEARING_EXE, clearing_env


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
    env = clearing_env(
        CLEARING_CHAIN__BACKEND="rpc", CLEARING_CHAIN__RPC_URL=chain.rpc_url, CLEARING_CHAIN__DEPLOYMENT=str(deployment)
    )
    c = Contracts.attach(chain, Deployment.load(deployment))
    who = chain.accounts[3].address
    c.house.admit(who)
    proc = _fund(tmp_path, env, "--account", "3", "--amount", "7000")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["account"] == who and out["deposited"] == "7000"
    assert c.house.member(who).balance == 7000
