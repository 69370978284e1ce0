"""Issue 8 item 4, acceptance: `clearing serve --workers 4` on a node (rpc backend) and PostgreSQL, while
another process sends transactions from the operator key the whole time, settles 20 cycles through HTTP,
each exactly once (ledger and chain agree), and leaves nothing stuck.

Every worker plans chain writes; the one holding the writer's lease sends them, resyncing its nonce
whenever the other process took it. Before, each worker signed with its own nonce counter, and a stolen
nonce left rows planned until a restart.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, select, text

from clearing.adapters.chain import backends
from clearing.adapters.chain.deploy import Contracts, Deployment, deploy
from clearing.adapters.db.models import Cycle, SettlementTx
from clearing.errors import ChainError
from tests.conftest import CLEARING_EXE, PG_URL, clearing_env

pytestmark = [pytest.mark.anvil, pytest.mark.postgres, pytest.mark.slow]

CYCLES = 20
OPERATOR_KEY, AUDITOR_KEY = "cho_four-workers", "cha_four-workers"
MEMBERS = {"alpha": 1, "beta": 2, "gamma": 3}  # dev accounts
COLLATERAL = 10**9

#: The other sender: 0-value transfers to itself from the operator key, at the chain's next nonce,
#: about twenty a second, until told to stop; prints what it got mined and what was refused.
STEALER = """
import json, os, sys, time
from eth_account import Account
from web3 import Web3
url, key, stop = sys.argv[1:4]
w3 = Web3(Web3.HTTPProvider(url))
me = Account.from_key(key)
sent = refused = 0
while not os.path.exists(stop):
    try:
        nonce = w3.eth.get_transaction_count(me.address, "pending")
        tx = {"to": me.address, "value": 0, "gas": 21000, "nonce": nonce, "chainId": w3.eth.chain_id,
              "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 10**9}
        w3.eth.send_raw_transaction(me.sign_transaction(tx).raw_transaction)
        sent += 1
        if sent == 1:
            print("stealing", flush=True)
    except Exception:
        refused += 1
    time.sleep(0.05)
print(json.dumps({"sent": sent, "refused": refused}), flush=True)
"""


@pytest.fixture
def ledger_url() -> Iterator[str]:
    """A PostgreSQL database of this test's own (the test process holds no lease on it)."""
    if PG_URL == "skip":
        pytest.skip("CLEARING_TEST_POSTGRES_URL=skip")
    name = f"clearing_writer_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _robust(chain: backends.Chain, send) -> None:
    """Send from the operator key in this process too (it races the stealer and the service): retry on
    a nonce taken meanwhile, reading the next one from the node again."""
    for _ in range(20):
        try:
            send()
            return
        except ChainError:
            chain.nonces.reset()
            time.sleep(0.05)
    raise AssertionError("could not send from the operator key")


def _fresh() -> httpx.Client:
    """A client that opens a new connection per request, so requests land on any of the workers."""
    return httpx.Client(base_url="", timeout=120, limits=httpx.Limits(max_keepalive_connections=0))


def test_four_workers_settle_twenty_cycles_exactly_once_while_another_process_steals_nonces(tmp_path, ledger_url):
    # About 55 s on an idle 2-CPU machine, most of it four workers importing web3 side by side.
    with backends.spawn_anvil() as chain:
        deployment = tmp_path / "deployments" / "localhost.json"
        deploy(chain, network="localhost").save(deployment)
        contracts = Contracts.attach(chain, Deployment.load(deployment))
        port = backends.free_port()
        api = f"http://127.0.0.1:{port}"
        env = clearing_env(
            CLEARING_DATABASE_URL=ledger_url,
            CLEARING_CHAIN__BACKEND="rpc",
            CLEARING_CHAIN__RPC_URL=str(chain.rpc_url),
            CLEARING_CHAIN__DEPLOYMENT=str(deployment),
            CLEARING_CHAIN__PRIVATE_KEY="0x" + bytes(chain.accounts[0].key).hex(),
            CLEARING_API__OPERATOR_KEY=OPERATOR_KEY,
            CLEARING_API__AUDITOR_KEY=AUDITOR_KEY,
            CLEARING_WRITER__POLL_SECONDS="0.05",
            CLEARING_WRITER__LEASE_RETRY_SECONDS="0.5",
        )
        log = tmp_path / "serve.log"
        stop = tmp_path / "stop-stealing"
        with open(log, "w") as err:
            server = subprocess.Popen(
                [CLEARING_EXE, "serve", "--port", str(port), "--workers", "4"], cwd=tmp_path, env=env, stderr=err
            )
            stealer = None
            try:
                _wait_up(server, api, log)
                stealer = subprocess.Popen(
                    [sys.executable, "-c", STEALER, str(chain.rpc_url), env["CLEARING_CHAIN__PRIVATE_KEY"], str(stop)],
                    env=clearing_env(),
                    stdout=subprocess.PIPE,
                    text=True,
                )
                assert stealer.stdout is not None and stealer.stdout.readline().strip() == "stealing"
                keys = _members(api, chain, contracts)
                settled = [_one_cycle(api, keys, i) for i in range(CYCLES)]
                stop.touch()
                stolen = json.loads(stealer.communicate(timeout=30)[0])
                _check_ledger_and_chain(api, ledger_url, contracts, settled)
                writers = _writers_seen(api)
            finally:
                stop.touch()
                if stealer is not None and stealer.poll() is None:
                    stealer.kill()
                server.terminate()
                server.wait(timeout=60)
    errors = log.read_text()
    # the other process really sent throughout, and the writer really met its nonces (and resynced)
    assert stolen["sent"] > CYCLES, stolen
    assert "nonce resynced from the chain" in errors, errors[-3000:]
    assert "Traceback" not in errors, errors[-3000:]
    assert writers == {True, False}, "expected answers from the writer and from other workers"


def _wait_up(server: subprocess.Popen[bytes], api: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert server.poll() is None, f"serve exited {server.returncode}: {log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, "serve did not start"
        try:
            if httpx.get(f"{api}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)


def _members(api: str, chain: backends.Chain, contracts: Contracts) -> dict[str, str]:
    """Admit the members through the API (any worker), fund them on chain, wait for chain sync."""
    op = {"Authorization": f"Bearer {OPERATOR_KEY}"}
    keys = {}
    with _fresh() as client:
        for name, i in MEMBERS.items():
            account = chain.accounts[i]
            r = client.post(
                f"{api}/members",
                json={"name": name, "address": account.address, "tier": "A", "credit_line": "0"},
                headers=op,
            )
            assert r.status_code == 201, r.text
            keys[name] = r.json()["api_key"]
            assert contracts.house.member(account.address).admitted, f"{name} not admitted on chain"
            _robust(chain, lambda a=account: contracts.token.mint(a.address, COLLATERAL))
            contracts.token.approve(contracts.house.address, COLLATERAL, sender=account)
            contracts.house.deposit(COLLATERAL, sender=account)
        deadline = time.monotonic() + 30
        for name, key in keys.items():
            while True:
                me = client.get(f"{api}/members/me", headers={"Authorization": f"Bearer {key}"}).json()
                if int(me["member"]["liquidity"]["collateral"]) == COLLATERAL:
                    break
                assert time.monotonic() < deadline, f"chain sync never saw {name}'s deposit: {me}"
                time.sleep(0.2)
    return keys


def _one_cycle(api: str, keys: dict[str, str], i: int) -> int:
    """Three obligations around the ring, then a cycle opened and settled (each request on any worker)."""
    op = {"Authorization": f"Bearer {OPERATOR_KEY}"}
    ring = [("alpha", "beta", 1_000 + i), ("beta", "gamma", 600 + i), ("gamma", "alpha", 300 + i)]
    with _fresh() as client:
        for n, (debtor, creditor, amount) in enumerate(ring):
            r = client.post(
                f"{api}/obligations",
                json={"id": f"c{i}-{n}", "debtor": debtor, "creditor": creditor, "amount": str(amount)},
                headers={"Authorization": f"Bearer {keys[debtor]}"},
            )
            assert r.status_code == 201 and r.json()["obligation"]["status"] == "accepted", r.text
        cycle = client.post(f"{api}/cycles", json={}, headers=op).json()
        r = client.post(f"{api}/cycles/{cycle['id']}/settle", json={}, headers=op)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["state"] == "SETTLED" and body["settled"] == 3, body
        return int(body["id"])


def _check_ledger_and_chain(api: str, ledger_url: str, contracts: Contracts, settled: list[int]) -> None:
    assert len(set(settled)) == CYCLES
    committed = Counter()
    commit_tx = {}
    for e in contracts.house.events(contracts.deployment.block):
        if e.name == "CycleCommitted":
            committed[int(e.args["cycleId"])] += 1
            commit_tx[int(e.args["cycleId"])] = e.tx_hash
    assert committed == Counter({c: 1 for c in settled}), committed  # each once, and nothing else

    engine = create_engine(ledger_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            cycles = {c.id: c for c in conn.execute(select(Cycle.id, Cycle.state, Cycle.commit_tx_hash))}
            rows = list(conn.execute(select(SettlementTx.kind, SettlementTx.cycle_id, SettlementTx.state)))
    finally:
        engine.dispose()
    for c in settled:
        assert cycles[c].state == "SETTLED" and cycles[c].commit_tx_hash == commit_tx[c], cycles[c]
    assert Counter(r.cycle_id for r in rows if r.kind == "settle") == Counter(settled)
    assert {r.state for r in rows} == {"mined"}, [r for r in rows if r.state != "mined"]

    with _fresh() as client:
        audit = client.get(f"{api}/audit/verify", headers={"Authorization": f"Bearer {AUDITOR_KEY}"}).json()
        assert audit["ok"] is True, audit
        stuck = client.get(f"{api}/outbox/stuck", headers={"Authorization": f"Bearer {OPERATOR_KEY}"}).json()
        assert stuck["count"] == 0 and stuck["rows"] == [], stuck
        health = client.get(f"{api}/health").json()
        assert health["status"] == "ok" and health["outbox"]["pending"] == 0, health


def _writers_seen(api: str) -> set[bool]:
    """Whether the workers that answered /health were the writer: one is, the others are not."""
    seen: set[bool] = set()
    with _fresh() as client:
        for _ in range(400):
            seen.add(client.get(f"{api}/health").json()["writer"])
            if len(seen) == 2:
                break
            time.sleep(0.01)  # let another worker be the one to wake for the next connection
    return seen
