"""`clearing calendar ...` against a live server: the routes the API documents, errors in one line."""

from __future__ import annotations

import json

from clearing.api.app import create_app
from tests.api.conftest import api_house, serve
from tests.commands.cli_runner import run_clearing as _clearing


def test_calendar_commands(sqlite_db):
    with serve(create_app(api_house(sqlite_db))) as url:
        added = _clearing(url, "calendar", "add", "2026-11-11", "double-11")
        assert added.returncode == 0, added.stderr
        event = json.loads(added.stdout)
        assert (event["date"], event["name"]) == ("2026-11-11", "double-11")
        again = _clearing(url, "calendar", "add", "2026-11-11", "double-11")
        assert again.returncode == 0 and json.loads(again.stdout) == event
        listed = json.loads(_clearing(url, "calendar", "list").stdout)
        assert listed == [event]
        bad = _clearing(url, "calendar", "add", "2026-02-30", "payday")
        assert bad.returncode == 2 and bad.stdout == "" and bad.stderr.count("\n") == 1 and "date" in bad.stderr
        removed = _clearing(url, "calendar", "remove", str(event["id"]))
        assert removed.returncode == 0 and json.loads(removed.stdout) == event
        gone = _clearing(url, "calendar", "remove", str(event["id"]))
        assert gone.returncode == 2 and "404" in gone.stderr
        assert json.loads(_clearing(url, "calendar", "list").stdout) == []
