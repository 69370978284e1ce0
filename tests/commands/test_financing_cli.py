"""`clearing financing ...` against a live server on Anvil: quote, request (idempotent), list, on a committed
cycle and on the open one (paid at its commit); releases repay the pool first and the audit replays it all;
refusals in one line with exit 2."""

from __future__ import annotations

import json

import pytest

from clearing.adapters.chain import backends
from clearing.api.app import create_app
from tests.api.conftest import OPERATOR_KEY, serve
from tests.api.test_financing_api import ALPHA, BETA, GAMMA, committed, financing_house
from tests.commands.cli_runner import run_clearing as _clearing

pytestmark = pytest.mark.anvil


def test_financing_commands(sqlite_db):
    with backends.spawn_anvil() as chain:
        _financing_commands(sqlite_db, chain)


def _financing_commands(sqlite_db, chain: backends.Chain) -> None:
    for h in financing_house(sqlite_db, 5_000_000, chain):
        cid = committed(h)
        with serve(create_app(h.ctx)) as url:
            beta = ("financing", "--key", h.keys[BETA])
            q = _clearing(url, *beta, "quote", "--cycle", str(cid))
            assert q.returncode == 0, q.stderr
            quoted = json.loads(q.stdout)
            assert quoted["receivable"] == "800000" and quoted["debtor_tier"] == "A"
            ran = _clearing(url, *beta, "request", "--cycle", str(cid), "--id", "cli-1")
            assert ran.returncode == 0, ran.stderr
            adv = json.loads(ran.stdout)
            assert adv["status"] == "open" and adv["principal"] == quoted["advance"]
            again = json.loads(_clearing(url, *beta, "request", "--cycle", str(cid), "--id", "cli-1").stdout)
            assert again["id"] == adv["id"]
            second = _clearing(url, *beta, "request", "--cycle", str(cid), "--id", "cli-2")
            assert second.returncode == 2 and second.stdout == "" and "409" in second.stderr
            assert second.stderr.startswith("error:") and second.stderr.count("\n") == 1
            mine = json.loads(_clearing(url, *beta, "list").stdout)
            assert [a["id"] for a in mine] == [adv["id"]]
            everyone = json.loads(
                _clearing(url, "financing", "--key", OPERATOR_KEY, "list", "--cycle", str(cid)).stdout
            )
            assert [a["member"] for a in everyone] == [BETA]
            gamma_none = json.loads(_clearing(url, "financing", "--key", h.keys[GAMMA], "list").stdout)
            assert gamma_none == []
            missing = _clearing(url, *beta, "request", "--id", "x")
            assert missing.returncode == 2 and missing.stderr.startswith("error:")

            # On the open cycle: scheduled, then paid when the operator commits the cycle into escrow.
            r = h.post(ALPHA, "/obligations", {"id": "o-open", "debtor": ALPHA, "creditor": BETA, "amount": "100000"})
            assert r.status_code == 201, r.text
            open_id = h.post("operator", "/cycles").json()["id"]
            taken = _clearing(url, *beta, "request", "--cycle", str(open_id), "--id", "cli-open")
            assert taken.returncode == 0, taken.stderr
            assert json.loads(taken.stdout)["status"] == "scheduled"
            assert h.post("operator", f"/cycles/{open_id}/commit").json()["state"] == "COMMITTED"
            for cycle in (cid, open_id):
                assert h.post("operator", f"/cycles/{cycle}/release").status_code == 200
            mine = json.loads(_clearing(url, *beta, "list").stdout)
            assert sorted((a["cycle_id"], a["status"]) for a in mine) == [(cid, "repaid"), (open_id, "repaid")]
            assert h.contracts.house.total_advanced() == 0
            report = h.get("auditor", "/audit/verify").json()
            assert report["ok"] is True, report["mismatches"]
