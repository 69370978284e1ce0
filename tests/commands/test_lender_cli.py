"""`clearing lender ...` against a live server on a real chain: the public /pool routes, the unsigned
transactions a lender's wallet signs (sent here as its wallet would), errors in one line."""

from __future__ import annotations

import json
import subprocess

from clearing.api.app import create_app
from tests.api.conftest import ChainHouse, chain_app_house, serve
from tests.commands.cli_runner import run_clearing


def _clearing(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_clearing(url, *args, operator_key=None)  # no key: the pool's routes are public


def _json(ran: subprocess.CompletedProcess[str]) -> dict:
    assert ran.returncode == 0, ran.stderr
    return json.loads(ran.stdout)


def test_lender_commands(sqlite_db):
    ctx, contracts = chain_app_house(sqlite_db)
    lender = contracts.chain.accounts[8]
    contracts.token.mint(lender.address, 5_000)
    wallet_to = contracts.chain.accounts[7].address
    wallet = ChainHouse(ctx=ctx, client=None, contracts=contracts)  # only its wallet: send() signs as the lender
    with serve(create_app(ctx)) as url:
        assert _json(_clearing(url, "lender", "status"))["total"] == "0"
        prepared = _json(_clearing(url, "lender", "deposit", lender.address, "5000"))
        assert [t["to"] for t in prepared["transactions"]] == [contracts.token.address, contracts.house.address]
        for tx in prepared["transactions"]:
            wallet.send(tx, lender)
        me = _json(_clearing(url, "lender", "position", lender.address))["lender"]
        assert (me["assets"], me["deposited"], me["pnl"]) == ("5000", "5000", "0")
        [tx] = _json(_clearing(url, "lender", "withdraw", lender.address, "1000"))["transactions"]
        assert tx["from"] == lender.address and tx["to"] == contracts.house.address
        [tx] = _json(_clearing(url, "lender", "queue", lender.address, "1000000"))["transactions"]
        wallet.send(tx, lender)  # nothing is drawn: the keeper would pay it at once; here it waits
        [request] = _json(_clearing(url, "lender", "withdrawals"))["requests"]
        assert (request["lender"], request["shares"]) == (lender.address, "1000000")
        refused = _clearing(url, "lender", "redeem", lender.address, "1000000")  # a request waits ahead
        assert refused.returncode == 2 and "queue" in refused.stderr and refused.stderr.count("\n") == 1
        [tx] = _json(_clearing(url, "lender", "cancel", lender.address, str(request["id"])))["transactions"]
        wallet.send(tx, lender)
        [tx] = _json(_clearing(url, "lender", "redeem", lender.address, "1000000", "--to", wallet_to))["transactions"]
        before = contracts.token.balance_of(wallet_to)
        wallet.send(tx, lender)
        assert contracts.token.balance_of(wallet_to) - before == 1  # 10^6 shares: one unit at the first price


def test_lender_command_errors(sqlite_db):
    ctx, contracts = chain_app_house(sqlite_db)
    lender = contracts.chain.accounts[8]
    with serve(create_app(ctx)) as url:
        refused = _clearing(url, "lender", "withdraw", lender.address, "1")
        assert refused.returncode == 2 and refused.stdout == "" and "409 conflict" in refused.stderr
        assert refused.stderr.count("\n") == 1
        bad = _clearing(url, "lender", "position", "0x12")
        assert bad.returncode == 2 and "422" in bad.stderr and bad.stderr.count("\n") == 1
        usage = _clearing(url, "lender", "deposit", lender.address, "0")
        assert usage.returncode == 2 and usage.stderr.startswith("error:") and usage.stderr.count("\n") == 1
