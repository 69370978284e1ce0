"""`clearing disputes ...` and `clearing complaints ...` resolve through a running server (real uvicorn)."""

from __future__ import annotations

import json

from clearing.api.app import create_app
from clearing.services import complaints, disputes
from clearing.services import submission as obligations
from clearing.services.submission import ObligationInput
from tests.api.conftest import api_house, serve
from tests.commands.cli_runner import run_clearing as _clearing
from tests.conftest import admit_member


def test_operator_lists_and_resolves_from_the_command_line(sqlite_db):
    ctx = api_house(sqlite_db)
    alpha = admit_member(ctx, "alpha", collateral=10**9).principal
    beta = admit_member(ctx, "beta").principal
    obligations.submit(ctx, alpha, [ObligationInput(id="o1", debtor="alpha", creditor="beta", amount=9)], batch=False)
    d = disputes.file(ctx, beta, "o1", reason="never delivered")
    c = complaints.file(ctx, beta, against="alpha", reason="pays late")
    with serve(create_app(ctx)) as url:
        listed = _clearing(url, "disputes", "list")
        assert listed.returncode == 0, listed.stderr
        assert [
            (x["id"], x["obligation_id"], x["submitter"], x["obligation_key"]) for x in json.loads(listed.stdout)
        ] == [(d.id, "o1", "alpha", d.obligation_key)]
        done = _clearing(url, "disputes", "resolve", str(d.id), "--reject", "--reason", "delivery logs match")
        assert done.returncode == 0, done.stderr
        assert (json.loads(done.stdout)["state"], json.loads(done.stdout)["obligation_status"]) == (
            "rejected",
            "accepted",
        )
        assert json.loads(_clearing(url, "disputes", "list").stdout) == []  # open ones by default
        again = _clearing(url, "disputes", "resolve", str(d.id), "--uphold", "--reason", "changed my mind")
        assert again.returncode == 2 and "already rejected" in again.stderr
        assert _clearing(url, "disputes", "resolve", str(d.id), "--reason", "x").returncode == 2

        out = _clearing(url, "complaints", "resolve", str(c.id), "--validate", "--reason", "confirmed")
        assert out.returncode == 0 and json.loads(out.stdout)["state"] == "validated", out.stderr
        listed = _clearing(url, "complaints", "list", "--state", "validated", "--member", "alpha")
        assert [x["id"] for x in json.loads(listed.stdout)] == [c.id]
