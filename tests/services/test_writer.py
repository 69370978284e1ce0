"""The chain writer on a real node (Anvil, the rpc backend) and a real ledger (issue 8, item 4).

Another sender on the operator key (``clearing dev fund``, a deploy script, a
second process) takes nonces the service counted on; a transaction can stay
unmined; a process that is not the writer only plans rows; the writer's lease
passes on. Each test drives the service as ``clearing serve`` builds it
(``build_service`` from rpc settings) and reads the outcome on chain.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from eth_account import Account
from fastapi.testclient import TestClient
from sqlalchemy import Row, select

from clearing.adapters.chain import backends
from clearing.adapters.chain.deploy import Contracts, deploy
from clearing.adapters.db.models import SettlementTx
from clearing.api.app import create_app
from clearing.bootstrap import build_service
from clearing.errors import ServiceUnavailable
from clearing.services import chain_sync, members, outbox
from clearing.services import submission as obligations
from clearing.services.context import ServiceContext
from clearing.services.keys import Principal
from clearing.services.submission import ObligationInput
from clearing.services.writer import ChainWriter
from clearing.settings import ApiSettings, ChainSettings, Settings, WriterSettings
from tests.conftest import OPERATOR

pytestmark = pytest.mark.anvil

OPERATOR_KEY = "cho_writer-operator"


@contextmanager
def anvil() -> Iterator[backends.Chain]:
    chain = backends.spawn_anvil()
    try:
        yield chain
    finally:
        chain.close()


def rpc_settings(db_url: str, chain: backends.Chain, tmp_path: Path, **writer: float) -> Settings:
    """What `clearing serve` reads on a node: the rpc backend, the deployment file, the operator key."""
    path = tmp_path / "deployments" / "localhost.json"
    if not path.exists():
        deploy(chain, network="localhost").save(path)
    return Settings(
        database_url=db_url,
        chain=ChainSettings(
            backend="rpc", rpc_url=chain.rpc_url, deployment=path, private_key=chain.accounts[0].key.hex()
        ),
        api=ApiSettings(operator_key=OPERATOR_KEY, auth_cache_seconds=0),
        writer=WriterSettings(**{"poll_seconds": 0.05, "replace_after_seconds": 600, **writer}),
    )


def mine(chain: backends.Chain) -> None:
    chain.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


def automine(chain: backends.Chain, on: bool) -> None:
    chain.w3.provider.make_request("evm_setAutomine", [on])  # type: ignore[arg-type]


@contextmanager
def miner(chain: backends.Chain, every: float = 0.1) -> Iterator[None]:
    """A block every ``every`` seconds while automine is off (a chain with a block time)."""
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(every):
            mine(chain)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def in_thread(fn) -> threading.Thread:
    thread = threading.Thread(target=fn, daemon=True)
    thread.start()
    return thread


def row(ctx: ServiceContext, kind: str) -> Row:
    """The newest outbox row of a kind."""
    t = SettlementTx
    with ctx.uow(read_only=True) as uow:
        return uow.session.execute(
            select(t.id, t.state, t.nonce, t.tx_hash, t.error, t.payload, t.cycle_id)
            .where(t.kind == kind)
            .order_by(t.id.desc())
            .limit(1)
        ).one()


def events(contracts: Contracts, name: str) -> list:
    return [e for e in contracts.house.events(contracts.deployment.block) if e.name == name]


def wait_for(what: str, check, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout:g} s"
        time.sleep(0.05)
    return value


def admit(ctx: ServiceContext, name: str) -> str:
    address = Account.create().address
    members.admit(ctx, OPERATOR, name=name, address=address, tier="A", credit_line=0)
    return address


def test_a_pending_transaction_of_another_sender_at_our_nonce_is_resynced_not_left_planned(sqlite_db, tmp_path):
    """Issue 8 item 4: another sender's transaction waits in the pool at the nonce the service counted on
    ("replacement transaction underpriced"). Before, the row was left planned until a restart."""
    with anvil() as chain:
        ctx = build_service(rpc_settings(sqlite_db.url, chain, tmp_path))
        alpha = admit(ctx, "alpha")
        operator = chain.accounts[0]
        nonce = chain.w3.eth.get_transaction_count(operator.address, "pending")
        automine(chain, False)
        # `clearing dev fund` in another terminal, say: the same key, the service's next nonce, a higher fee
        theirs = operator.sign_transaction(
            {"to": operator.address, "value": 0, "gas": 21_000, "nonce": nonce, "chainId": chain.chain_id,
             "maxFeePerGas": 200 * 10**9, "maxPriorityFeePerGas": 100 * 10**9}
        )  # fmt: skip
        chain.w3.eth.send_raw_transaction(theirs.raw_transaction)

        with miner(chain):
            view = members.set_status(ctx, OPERATOR, "alpha", suspended=True, reason="kyc")

        assert view.status == "suspended"
        suspend = row(ctx, outbox.SUSPEND_MEMBER)
        assert suspend.state == "mined" and suspend.nonce == nonce + 1
        assert ctx.contracts.house.member(alpha).suspended
        assert [e.tx_hash for e in events(ctx.contracts, "MemberSuspended")] == [suspend.tx_hash]
        assert chain.w3.eth.get_transaction_receipt(theirs.hash)["status"] == 1


def test_the_nonce_is_resynced_after_a_transaction_sent_elsewhere_from_the_same_key(sqlite_db, tmp_path):
    with anvil() as chain:
        ctx = build_service(rpc_settings(sqlite_db.url, chain, tmp_path))
        admit(ctx, "alpha")
        # another process mints from the operator key: the service's counter is now one behind
        other = Contracts.attach(backends.rpc(chain.rpc_url, chain.accounts[0].key.hex()), ctx.contracts.deployment)
        other.token.mint(chain.accounts[5].address, 1)
        beta = admit(ctx, "beta")
        assert ctx.contracts.house.member(beta).admitted
        register = row(ctx, outbox.REGISTER_MEMBER)
        assert register.state == "mined" and "can no longer be mined" in (register.error or "")


def test_a_transaction_stuck_unmined_is_replaced_with_a_fee_bump_at_the_same_nonce(sqlite_db, tmp_path):
    with anvil() as chain:
        ctx = build_service(rpc_settings(sqlite_db.url, chain, tmp_path, replace_after_seconds=0.5))
        alpha = admit(ctx, "alpha")
        automine(chain, False)  # nothing is mined until the test says so
        suspending = in_thread(lambda: members.set_status(ctx, OPERATOR, "alpha", suspended=True, reason="kyc"))
        sent = wait_for("the first transaction", lambda: _hashes(ctx, 1))
        first = chain.w3.eth.get_transaction(sent[0])  # pending: the node drops it once it is replaced
        hashes = wait_for("a replacement", lambda: _hashes(ctx, 2))
        second = chain.w3.eth.get_transaction(hashes[1])
        assert first["nonce"] == second["nonce"]
        for fee in ("maxFeePerGas", "maxPriorityFeePerGas"):
            assert second[fee] * 8 >= first[fee] * 9, fee  # at least +12.5%
        mine(chain)
        suspending.join(timeout=30)
        assert not suspending.is_alive()

        suspend = row(ctx, outbox.SUSPEND_MEMBER)
        assert suspend.state == "mined" and suspend.tx_hash in suspend.payload["hashes"][1:]
        assert chain.w3.eth.get_transaction_receipt(suspend.tx_hash)["status"] == 1
        (event,) = events(ctx.contracts, "MemberSuspended")
        assert event.tx_hash == suspend.tx_hash and ctx.contracts.house.member(alpha).suspended


def test_the_replaced_transaction_mined_after_all_completes_the_row_once(sqlite_db, tmp_path):
    """The first transaction is mined just as its replacement is signed: the row completes under the first
    hash, and the replacement (refused: nonce too low) is never mined."""
    with anvil() as chain:
        ctx = build_service(rpc_settings(sqlite_db.url, chain, tmp_path, replace_after_seconds=0.3))
        alpha = admit(ctx, "alpha")

        def mined_meanwhile(stage: str) -> None:
            if stage == "replace":
                mine(chain)

        ctx = dataclasses.replace(
            ctx, outbox=outbox.Outbox(ctx.sessions, ctx.contracts, crash_hook=mined_meanwhile, policy=ctx.outbox.policy)
        )
        automine(chain, False)
        members.set_status(ctx, OPERATOR, "alpha", suspended=True, reason="kyc")

        suspend = row(ctx, outbox.SUSPEND_MEMBER)
        first, replacement = suspend.payload["hashes"]
        assert suspend.state == "mined" and suspend.tx_hash == first
        automine(chain, True)
        mine(chain)
        assert chain.w3.eth.get_transaction_receipt(first)["status"] == 1
        assert not ctx.contracts.house.known(replacement)
        assert [e.tx_hash for e in events(ctx.contracts, "MemberSuspended")] == [first]
        assert ctx.contracts.house.member(alpha).suspended


def test_a_row_left_planned_is_sent_by_the_writer_without_a_restart_and_reported_stuck_meanwhile(
    sqlite_db, tmp_path, caplog
):
    """Issue 8 item 4: planned rows were re-sent only at start-up. Now the writer's passes send them, and
    while they wait too long /health is degraded and the operator is warned."""
    with anvil() as chain:
        ctx = build_service(rpc_settings(sqlite_db.url, chain, tmp_path, stuck_seconds=1))
        operator = chain.accounts[0].address
        balance = chain.w3.eth.get_balance(operator)
        chain.w3.provider.make_request("anvil_setBalance", [operator, "0x0"])  # type: ignore[arg-type]
        alpha = admit(ctx, "alpha")  # the node refuses the admission (no gas): logged, left planned
        assert row(ctx, outbox.REGISTER_MEMBER).state == "planned"
        assert not ctx.contracts.house.member(alpha).admitted

        writer = ChainWriter(ctx)
        time.sleep(1.1)
        with caplog.at_level(logging.WARNING, logger="clearing.services.writer"):
            writer.tick()  # still no gas: the row waits, past the threshold now
        assert "1 outbox row(s) pending longer than 1 s" in caplog.text
        with TestClient(create_app(ctx)) as client:
            health = client.get("/health").json()
            assert health["status"] == "degraded" and health["writer"] is True
            assert health["outbox"]["stuck"] == 1 and health["outbox"]["oldest_seconds"] >= 0
            stuck = client.get("/outbox/stuck", headers={"Authorization": f"Bearer {OPERATOR_KEY}"}).json()
            assert stuck["count"] == 1 and [r["kind"] for r in stuck["rows"]] == ["register_member"]
            assert "insufficient funds" in stuck["rows"][0]["error"].lower()

            chain.w3.provider.make_request("anvil_setBalance", [operator, hex(balance)])  # type: ignore[arg-type]
            wait_for("the admission", lambda: writer.tick() and ctx.contracts.house.member(alpha).admitted, 10)
            assert row(ctx, outbox.REGISTER_MEMBER).state == "mined"
            time.sleep(1.1)  # /health reads the ledger at most once a second
            health = client.get("/health").json()
            assert health["status"] == "ok" and health["outbox"] == {
                "pending": 0,
                "stuck": 0,
                "oldest_seconds": None,
                "stuck_after_seconds": 1,
            }


@pytest.mark.postgres
def test_a_worker_that_is_not_the_writer_plans_and_waits_and_takes_over_when_the_writer_goes(pg_db, tmp_path):
    """Two processes' worth of service on one ledger and one node: the lease holder sends, the other only
    plans rows and waits for them (503 while no writer mines them); when the holder goes, it takes over."""
    with anvil() as chain:
        settings = rpc_settings(pg_db.url, chain, tmp_path, wait_seconds=1.5)
        first = build_service(settings)  # start-up recovery took the lease
        second = build_service(settings)
        try:
            assert first.outbox.writes_here() and not second.outbox.writes_here()
            with running(ChainWriter(first)):
                principals = {}
                for i, name in enumerate(("alpha", "beta"), start=1):
                    account = chain.accounts[i]
                    done = members.admit(second, OPERATOR, name=name, address=account.address, tier="A", credit_line=0)
                    assert second.contracts.house.member(account.address).admitted  # mined by the first
                    second.contracts.chain.nonces.reset()  # the operator key mints: the writer used it meanwhile
                    second.contracts.fund_member(account, 5_000_000)
                    principals[name] = Principal(
                        role="member",
                        key_id=None,
                        member_id=done.member.id,
                        member_name=name,
                        member_address=account.address,
                    )
                chain_sync.sync(second.sessions, second.contracts)
                item = ObligationInput(id="w-1", debtor="alpha", creditor="beta", amount=700_000)
                obligations.submit(second, principals["alpha"], [item], batch=True)

            # the writer's process lives but its loop is stalled: the second plans the settlement and gives up
            with pytest.raises(ServiceUnavailable):
                second.cycles.settle()
            (planned,) = _rows(second, outbox.SETTLE)
            assert planned.state == "planned" and planned.payload["fn"] == "settleCycle"
            with running(ChainWriter(first)):  # its loop sends the planned row; the second's retry records it
                settled = second.cycles.settle(planned.cycle_id)
            assert settled.state == "SETTLED" and settled.commit_tx_hash == row(first, outbox.SETTLE).tx_hash
        finally:
            first.outbox.close()  # the writer's process is gone, and its lease with it
            first.engine.dispose()

        # the second takes the lease over on its next look, finishes what is left, and sends itself
        late = ChainWriter(second)
        wait_for("the take-over", lambda: late.tick() >= 0 and second.outbox.writes_here(), 10)
        gamma = admit(second, "gamma")
        assert second.contracts.house.member(gamma).admitted
        assert row(second, outbox.REGISTER_MEMBER).state == "mined"
        assert [e.args["cycleId"] for e in events(second.contracts, "CycleCommitted")] == [settled.id]
        second.outbox.close()
        second.engine.dispose()


@contextmanager
def running(writer: ChainWriter) -> Iterator[ChainWriter]:
    writer.start()
    try:
        yield writer
    finally:
        writer.stop()


def _hashes(ctx: ServiceContext, at_least: int) -> list[str] | None:
    """The suspension's transactions, once it has ``at_least`` of them and the node holds that one."""
    with ctx.uow(read_only=True) as uow:
        found = uow.session.execute(
            select(SettlementTx.state, SettlementTx.payload).where(SettlementTx.kind == outbox.SUSPEND_MEMBER)
        ).first()
    hashes = ((found.payload if found else None) or {}).get("hashes") or []
    if len(hashes) < at_least or found.state != "sent" or not ctx.contracts.house.known(hashes[at_least - 1]):
        return None
    return hashes


def _rows(ctx: ServiceContext, kind: str) -> list[Row]:
    t = SettlementTx
    with ctx.uow(read_only=True) as uow:
        return list(uow.session.execute(select(t.state, t.payload, t.cycle_id).where(t.kind == kind)))
