"""`clearing audit`: never a silent check against a throwaway chain, nor against another chain."""

from __future__ import annotations

import json
import subprocess

import pytest

from clearing.adapters.chain import backends
from clearing.adapters.chain.deploy import deploy
from clearing.adapters.db import migrate
from clearing.services.submission import ObligationInput, submit
from tests.conftest import CLEARING_EXE, clearing_env
from tests.services.conftest import build_house


def _audit(cwd, env, *args):
    return subprocess.run([CLEARING_EXE, "audit", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def settled_on_anvil(tmp_path):
    """A ledger with a settled cycle on an Anvil, and that Anvil's deployment file."""
    chain = backends.spawn_anvil()
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    migrate(url)
    house = build_house(url, chain, [("alpha", "A", 10**9, 0), ("beta", "B", 10**9, 0)])
    submit(house.ctx, house.principals["alpha"], [ObligationInput("o-1", "alpha", "beta", 1000)], batch=False)
    assert house.ctx.cycles.settle().state == "SETTLED"
    deployment = tmp_path / "deployments" / "localhost.json"
    house.contracts.deployment.save(deployment)
    yield chain, url, deployment
    chain.close()


@pytest.mark.anvil
def test_verify_with_no_chain_configured_refuses_in_one_line(tmp_path, settled_on_anvil):
    _, url, _ = settled_on_anvil
    proc = _audit(tmp_path, clearing_env(CLEARING_DATABASE_URL=url), "verify")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: no chain to audit against")
    assert "CLEARING_CHAIN__BACKEND=rpc" in lines[0] and "CLEARING_CHAIN__RPC_URL" in lines[0]


@pytest.mark.anvil
def test_verify_against_the_ledger_s_own_chain_passes_and_another_is_refused(tmp_path, settled_on_anvil):
    chain, url, deployment = settled_on_anvil
    env = clearing_env(
        CLEARING_DATABASE_URL=url,
        CLEARING_CHAIN__BACKEND="rpc",
        CLEARING_CHAIN__RPC_URL=chain.rpc_url,
        CLEARING_CHAIN__DEPLOYMENT=str(deployment),
    )
    ok = _audit(tmp_path, env, "verify")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["ok"] is True

    with backends.spawn_anvil() as other:
        elsewhere = tmp_path / "other.json"
        deploy(other, network="localhost").save(elsewhere)
        proc = _audit(
            tmp_path,
            {**env, "CLEARING_CHAIN__RPC_URL": other.rpc_url, "CLEARING_CHAIN__DEPLOYMENT": str(elsewhere)},
            "verify",
        )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ledger ")


@pytest.mark.anvil
def test_prove_needs_only_the_ledger(tmp_path, settled_on_anvil):
    chain, url, deployment = settled_on_anvil
    proof = _audit(tmp_path, clearing_env(CLEARING_DATABASE_URL=url), "prove", "o-1", "--out", "p.json")
    assert proof.returncode == 0, proof.stderr
    assert json.loads(proof.stdout)["chain_id"] == chain.chain_id
    checked = _audit(tmp_path, clearing_env(), "check-proof", "p.json", "--rpc-url", chain.rpc_url)
    assert checked.returncode == 0 and checked.stdout.startswith("proof valid"), checked.stderr


def test_an_audit_never_creates_a_ledger(tmp_path):
    proc = _audit(tmp_path, clearing_env(), "prove", "w-1")
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("error: no ledger at sqlite:///.clearing/clearing.db") and "CLEARING_DATABASE_URL" in line
    assert not (tmp_path / ".clearing").exists()


@pytest.mark.anvil
def test_prove_names_the_submitter_of_an_id_two_members_used(tmp_path):
    """Ids are scoped to their submitter (issue 8 item 10): `prove` refuses in one line to guess between two
    members' equal ids; with --submitter the proof carries the submitter and checks out on chain."""
    with backends.spawn_anvil() as chain:
        url = f"sqlite:///{tmp_path / 'ledger.db'}"
        migrate(url)
        house = build_house(url, chain, [("alpha", "A", 10**9, 0), ("beta", "A", 10**9, 0)])
        submit(house.ctx, house.principals["alpha"], [ObligationInput("o-1", "alpha", "beta", 1000)], batch=False)
        submit(house.ctx, house.principals["beta"], [ObligationInput("o-1", "beta", "alpha", 400)], batch=False)
        assert house.ctx.cycles.settle().state == "SETTLED"
        env = clearing_env(CLEARING_DATABASE_URL=url)
        proc = _audit(tmp_path, env, "prove", "o-1")
        assert proc.returncode == 2 and proc.stdout == ""
        (line,) = proc.stderr.strip().splitlines()
        assert line.startswith("error: obligation id 'o-1' was used by 2 members (alpha, beta)") and "submitter" in line
        proof = _audit(tmp_path, env, "prove", "o-1", "--submitter", "beta", "--out", "p.json")
        assert proof.returncode == 0, proof.stderr
        p = json.loads(proof.stdout)
        assert (p["submitter"], p["amount"], p["key_scheme"]) == (house.keys["beta"].address, "400", "submitter")
        checked = _audit(tmp_path, clearing_env(), "check-proof", "p.json", "--rpc-url", chain.rpc_url)
        assert checked.returncode == 0 and checked.stdout.startswith("proof valid"), checked.stderr
