"""scripts/deploy.py both ways (plain web3 and brownie) against Anvil with
chain id 11155111, standing in for a test network: there the token must
already exist, so the tests deploy one first and pass its address."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from clearing.adapters.chain import backends
from clearing.adapters.chain.client import OPERATOR_ROLE, RISK_ROLE, ClearingHouseClient
from clearing.adapters.chain.compile import artifacts_hash
from clearing.adapters.chain.deploy import deploy_contract
from clearing.adapters.chain.vault_client import SEIZER_ROLE, VaultClient

ROOT = Path(__file__).resolve().parents[3]
SEPOLIA = 11155111
DEV_KEY = "0x" + backends.dev_accounts(1)[0].key.hex().removeprefix("0x")

pytestmark = pytest.mark.anvil


@pytest.fixture(scope="module")
def testnet():
    chain = backends.spawn_anvil(chain_id=SEPOLIA)
    token, _ = deploy_contract(chain, "SettlementToken", sender=chain.accounts[0])  # "existing" token
    yield chain, token
    chain.close()


def _check(record: dict, chain, token: str) -> None:
    assert record["chain_id"] == SEPOLIA
    assert record["token"] == token and record["dev_token"] is False
    assert record["artifacts_hash"] == artifacts_hash()
    house = ClearingHouseClient(chain, record["clearing_house"])
    assert house.token() == token
    assert house.has_role(OPERATOR_ROLE, record["operator"])
    assert house.has_role(RISK_ROLE, record["operator"])
    vault = VaultClient(chain, record["asset_vault"])  # next to the house: it seizes, the operator values
    assert vault.house() == house.address
    assert vault.has_role(SEIZER_ROLE, house.address) and vault.has_role(RISK_ROLE, record["operator"])
    assert record["liquidator"] == chain.accounts[0].address


def test_deploy_script_with_web3(testnet, tmp_path):
    chain, token = testnet
    out = tmp_path / "sepolia.json"
    proc = subprocess.run(
        [
            sys.executable,
            "scripts/deploy.py",
            "--rpc-url",
            chain.rpc_url,
            "--private-key",
            DEV_KEY,
            "--token",
            token,
            "--network",
            "sepolia",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    _check(json.loads(out.read_text()), chain, token)


def test_deploy_script_refuses_dev_token_on_a_test_network(testnet, tmp_path):
    chain, _ = testnet
    proc = subprocess.run(
        [
            sys.executable,
            "scripts/deploy.py",
            "--rpc-url",
            chain.rpc_url,
            "--private-key",
            DEV_KEY,
            "--out",
            str(tmp_path / "x.json"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error:") and "--token" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def _clone_into_dotted_folder(tmp_path: Path) -> Path:
    """The brownie project as a fresh clone has it, under a folder whose name holds a dot (as
    ``mktemp -d`` names them): brownie imports scripts by a dotted name built from their path."""
    clone = tmp_path / "tmp.Xy12ab" / "repo"
    for folder in ("scripts", "tests"):  # brownie makes its project folders one level at a time
        (clone / folder).mkdir(parents=True)
    for name in ("brownie-config.yaml", "brownie_hooks.py", "scripts/deploy.py"):
        shutil.copy(ROOT / name, clone / name)
    shutil.copytree(ROOT / "contracts", clone / "contracts")
    for name in ("src", "node_modules"):  # the package the script imports; OpenZeppelin's sources
        (clone / name).symlink_to(ROOT / name)
    build = clone / "build" / "brownie"
    build.mkdir(parents=True)  # what `scripts/setup.sh --brownie` creates
    for cached in ("contracts", "interfaces"):  # a warm compile cache (brownie stores relative paths)
        if (ROOT / "build" / "brownie" / cached).is_dir():
            shutil.copytree(ROOT / "build" / "brownie" / cached, build / cached)
    return clone


def _brownie_home(tmp_path: Path) -> Path:
    """A home of brownie's own: its network list and compiler folder (``~/.brownie``, ``~/.solcx``) are
    per-user state that other checkouts on the machine rewrite (``setup.sh --brownie`` re-points
    ``~/.solcx/solc-v<version>`` at its own wrapper), so the test makes its own, as setup.sh would,
    pointing at this checkout's wrapper."""
    home = tmp_path / "home"
    solcx = home / ".solcx"
    solcx.mkdir(parents=True)
    version = json.loads((ROOT / "node_modules" / "solc" / "package.json").read_text())["version"]
    (solcx / f"solc-v{version}").symlink_to(ROOT / "tools" / "solc")
    return home


@pytest.mark.slow
def test_deploy_script_with_brownie_from_a_dotted_folder(testnet, tmp_path):
    brownie = ROOT / ".venv-brownie" / "bin" / "brownie"
    if os.environ.get("CLEARING_SKIP_BROWNIE") == "1":
        pytest.skip("CLEARING_SKIP_BROWNIE=1")
    assert brownie.exists(), "run scripts/setup.sh --brownie first"
    chain, token = testnet
    clone = _clone_into_dotted_folder(tmp_path)
    name = f"anvil-sepolia-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "HOME": str(_brownie_home(tmp_path)),
        "DEPLOYER_PRIVATE_KEY": DEV_KEY,
        "SETTLEMENT_TOKEN": token,
        "DEPLOYMENT_OUT": str(tmp_path / "brownie.json"),
    }
    subprocess.run(
        [str(brownie), "networks", "add", "Ethereum", name, f"host={chain.rpc_url}", f"chainid={SEPOLIA}"],
        cwd=clone,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    try:
        proc = subprocess.run(
            [str(brownie), "run", "scripts/deploy.py", "--network", name],
            cwd=clone,
            capture_output=True,
            text=True,
            env=env,
            timeout=900,
        )
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        record = json.loads((tmp_path / "brownie.json").read_text())
        assert record["network"] == name
        _check(record, chain, token)
    finally:
        subprocess.run([str(brownie), "networks", "delete", name], cwd=clone, env=env, capture_output=True, timeout=120)
