"""`clearing credit ...` against a live server: the same routes the API documents, errors in one line."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from clearing.api.app import create_app
from tests.api.conftest import api_house, serve
from tests.commands.cli_runner import run_clearing as _clearing
from tests.conftest import admit_member


def test_credit_commands(sqlite_db):
    ctx = api_house(sqlite_db)
    admit_member(ctx, "alpha")
    with serve(create_app(ctx)) as url:
        scores = _clearing(url, "credit", "scores")
        assert scores.returncode == 0, scores.stderr
        assert [s["member"] for s in json.loads(scores.stdout)] == ["alpha"]
        until = (datetime.now(UTC) + timedelta(days=3)).isoformat()
        pinned = _clearing(url, "credit", "override", "alpha", "--tier", "C", "--reason", "kyc", "--until", until)
        assert pinned.returncode == 0 and json.loads(pinned.stdout)["tier"] == "C", pinned.stderr
        shown = json.loads(_clearing(url, "credit", "show", "alpha").stdout)
        assert shown["override"]["reason"] == "kyc"
        moved = json.loads(_clearing(url, "credit", "migrations", "--member", "alpha").stdout)
        assert [(m["from_tier"], m["to_tier"]) for m in moved] == [("A", "C")]
        ended = _clearing(url, "credit", "end-override", "alpha", "--reason", "kyc ok")
        assert ended.returncode == 0 and json.loads(ended.stdout)["override"] is None
        assert json.loads(_clearing(url, "credit", "rescore").stdout)["members"] == 1
        refused = _clearing(url, "credit", "override", "alpha", "--line", "5", "--reason", "x", "--until", until)
        assert refused.returncode == 2 and refused.stdout == "" and "credit-line-above-cap" in refused.stderr
        assert refused.stderr.count("\n") == 1
        missing = _clearing(url, "credit", "show", "nobody")
        assert missing.returncode == 2 and "404" in missing.stderr
