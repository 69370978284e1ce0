"""`clearing defaults ...` against a live server: the routes the API documents, errors in one line."""

from __future__ import annotations

import json

from clearing.api.app import create_app
from tests.api.conftest import api_house, serve
from tests.commands.cli_runner import run_clearing as _clearing
from tests.conftest import admit_member


def test_defaults_commands(sqlite_db):
    ctx = api_house(sqlite_db)  # no chain: the default's chain calls stay planned in the outbox
    admit_member(ctx, "gemshop", tier="B", collateral=10)
    with serve(create_app(ctx)) as url:
        ran = _clearing(url, "defaults", "declare", "gemshop", "--reason", "unpaid since the sale")
        assert ran.returncode == 0, ran.stderr
        d = json.loads(ran.stdout)
        assert (d["member"], d["trigger"], d["state"], d["reason"]) == (
            "gemshop",
            "operator",
            "declaring",
            "unpaid since the sale",
        )
        assert d["outbox"] == {"declare_default": "planned", "allocate_default_loss": "planned"}
        listed = json.loads(_clearing(url, "defaults", "list", "--active").stdout)
        assert [x["id"] for x in listed] == [d["id"]]
        assert json.loads(_clearing(url, "defaults", "show", "gemshop").stdout)["id"] == d["id"]
        again = _clearing(url, "defaults", "declare", "gemshop", "--reason", "again")
        assert again.returncode == 2 and again.stdout == "" and "409" in again.stderr
        assert again.stderr.count("\n") == 1
        cure = _clearing(url, "defaults", "cure", "gemshop", "--reason", "repaid")
        assert cure.returncode == 1 and "503" in cure.stderr  # a cure reads the chain
        missing = _clearing(url, "defaults", "declare", "gemshop")
        assert missing.returncode == 2 and missing.stderr.startswith("error:") and missing.stderr.count("\n") == 1
        unknown = _clearing(url, "defaults", "show", "nobody")
        assert unknown.returncode == 2 and "404" in unknown.stderr
