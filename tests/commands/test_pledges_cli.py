"""`clearing pledges ...` against a live server on Anvil: the operator lists and revalues a collection, a member
sees its pledges, and pledges and unpledges a test NFT with its own wallet key (signed locally and sent by the
command), then the audit passes; refusals print one line and exit 2."""

from __future__ import annotations

import json
import subprocess

import httpx
import pytest

from clearing.adapters.chain import backends
from clearing.adapters.chain.deploy import Contracts, deploy
from clearing.api.app import create_app
from clearing.bootstrap import build_service
from clearing.services import chain_sync
from clearing.settings import ApiSettings, Settings
from tests.api.conftest import AUDITOR_KEY, OPERATOR_KEY, serve
from tests.commands.cli_runner import run_clearing

pytestmark = pytest.mark.anvil


def _clearing(url: str, *args: str, key: str = OPERATOR_KEY) -> subprocess.CompletedProcess[str]:
    return run_clearing(url, *args, operator_key=key)


def _json(ran: subprocess.CompletedProcess[str]) -> object:
    assert ran.returncode == 0, ran.stderr
    return json.loads(ran.stdout)


def test_pledges_commands(sqlite_db):
    chain = backends.spawn_anvil()
    try:
        contracts = Contracts.attach(chain, deploy(chain, network="anvil"))
        settings = Settings(
            database_url=sqlite_db.url,
            api=ApiSettings(operator_key=OPERATOR_KEY, auditor_key=AUDITOR_KEY, auth_cache_seconds=0),
        )
        ctx = build_service(settings, engine=sqlite_db.engine, contracts=contracts)
        wallet = chain.accounts[1]
        nft, _ = contracts.deploy_test_collections()
        nft.mint(wallet.address, 3)
        with serve(create_app(ctx)) as url:
            r = httpx.post(
                f"{url}/members",
                json={"name": "alpha", "address": wallet.address, "tier": "A", "credit_line": "0"},
                headers={"Authorization": f"Bearer {OPERATOR_KEY}"},
                timeout=60,
            )
            assert r.status_code == 201, r.text
            member_key = r.json()["api_key"]
            chain_sync.sync(ctx.sessions, contracts)
            listed = _json(
                _clearing(
                    url, "pledges", "value", nft.address, "1000", "--ltv-bps", "5000", "--max-age-seconds", "3600"
                )
            )
            assert listed["standard"] == "erc721"
            assert [c["address"] for c in _json(_clearing(url, "pledges", "collections"))] == [nft.address]
            printed = _json(_clearing(url, "pledges", "pledge", nft.address, "3", "--member-key", member_key))
            assert [t["to"] for t in printed["transactions"]] == [nft.address, contracts.vault.address]
            key = "0x" + wallet.key.hex().removeprefix("0x")
            sent = _json(
                _clearing(
                    url,
                    "pledges",
                    "pledge",
                    nft.address,
                    "3",
                    "--member-key",
                    member_key,
                    "--private-key",
                    key,
                    "--rpc-url",
                    chain.rpc_url,
                )
            )
            assert len(sent["sent"]) == 2 and nft.owner_of(3) == contracts.vault.address
            chain_sync.sync(ctx.sessions, contracts)
            mine = _json(_clearing(url, "pledges", "list", "--member-key", member_key))
            assert (mine["collateral_value"], mine["headroom"]) == ("500", "500")
            assert _json(_clearing(url, "pledges", "list", "alpha"))["collateral_value"] == "500"
            assert _json(_clearing(url, "pledges", "value", nft.address, "3000"))["unit_value"] == "3000"
            refused = _clearing(url, "pledges", "unpledge", nft.address, "4", "--member-key", member_key)
            assert refused.returncode == 2 and "pledge-refused" in refused.stderr and refused.stderr.count("\n") == 1
            _json(
                _clearing(
                    url,
                    "pledges",
                    "unpledge",
                    nft.address,
                    "3",
                    "--member-key",
                    member_key,
                    "--private-key",
                    key,
                    "--rpc-url",
                    chain.rpc_url,
                )
            )
            assert nft.owner_of(3) == wallet.address
            # The auditor replays the vault's events (valued, pledged, revalued, unpledged) against the ledger.
            chain_sync.sync(ctx.sessions, contracts)
            report = httpx.get(
                f"{url}/audit/verify", headers={"Authorization": f"Bearer {AUDITOR_KEY}"}, timeout=120
            ).json()
            assert report["ok"] is True, report["mismatches"]
    finally:
        chain.close()
