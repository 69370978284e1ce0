"""`clearing cover2` against a live server: the latest (computed on first read), `--run`, errors in one line."""

from __future__ import annotations

import json

from clearing.api.app import create_app
from tests.api.conftest import api_house, chain_app_house, serve
from tests.commands.cli_runner import run_clearing as _clearing


def test_cover2_command(sqlite_db):
    ctx, _ = chain_app_house(sqlite_db, lender_pool=7_000)
    with serve(create_app(ctx)) as url:
        shown = _clearing(url, "cover2")
        assert shown.returncode == 0, shown.stderr
        first = json.loads(shown.stdout)
        assert (first["trigger"], first["resources"], first["loss"], first["covered"]) == (
            "first_read",
            "7000",
            "0",
            True,
        )
        ran = _clearing(url, "cover2", "--run")
        assert ran.returncode == 0, ran.stderr
        again = json.loads(ran.stdout)
        assert again["trigger"] == "manual" and again["id"] == first["id"] + 1
        assert json.loads(_clearing(url, "cover2").stdout) == again


def test_cover2_command_without_a_chain_fails_in_one_line(sqlite_db):
    with serve(create_app(api_house(sqlite_db))) as url:
        failed = _clearing(url, "cover2")
    assert failed.returncode == 1 and failed.stdout == "" and "503" in failed.stderr
    assert failed.stderr.count("\n") == 1


def test_cover2_what_if_command(sqlite_db):
    ctx, _ = chain_app_house(sqlite_db, lender_pool=7_000)
    with serve(create_app(ctx)) as url:
        shown = _clearing(url, "cover2", "--what-if", "--days", "5", "--demand", "3")
        assert shown.returncode == 0, shown.stderr
        body = json.loads(shown.stdout)
        assert (body["days"], body["demand"], body["loss"], body["pool_after"]) == (5, 3.0, "0", "7000")
        assert body["defaulted"] == [] and len(body["pool_need_by_day"]) == 5 and body["pool_covers"] is True
        bad = _clearing(url, "cover2", "--what-if", "--days", "40")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--days" in bad.stderr
