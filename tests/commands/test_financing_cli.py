"""`clearing financing ...` against a live server on a real chain: quote, request (idempotent), list; refusals
in one line with exit 2."""

from __future__ import annotations

import json

from clearing.api.app import create_app
from tests.api.conftest import OPERATOR_KEY, serve
from tests.api.test_financing_api import BETA, GAMMA, committed, financing_house
from tests.commands.cli_runner import run_clearing as _clearing


def test_financing_commands(sqlite_db):
    for h in financing_house(sqlite_db, 5_000_000):
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
