"""`clearing alerts ...` against a live server: the routes the API documents, errors in one line."""

from __future__ import annotations

import json

from sqlalchemy import update

from clearing.adapters.db.models import Member
from clearing.api.app import create_app
from tests.api.conftest import api_house, serve
from tests.commands.cli_runner import run_clearing as _clearing
from tests.conftest import admit_member


def test_alerts_commands(sqlite_db):
    ctx = api_house(sqlite_db)
    admit_member(ctx, "alpha", tier="B")
    with ctx.uow() as uow:
        uow.session.execute(update(Member).where(Member.name == "alpha").values(chain_balance=-3))
        uow.commit()
    with serve(create_app(ctx)) as url:
        ran = _clearing(url, "alerts", "evaluate")
        assert ran.returncode == 0, ran.stderr
        assert json.loads(ran.stdout) == {"opened": 2, "resolved": 0, "updated": 0}
        listed = json.loads(_clearing(url, "alerts", "list", "--kind", "credit_utilisation_high").stdout)
        [a] = listed
        assert (a["member"], a["state"]) == ("alpha", "open")
        acked = _clearing(url, "alerts", "ack", str(a["id"]))
        assert acked.returncode == 0 and json.loads(acked.stdout)["state"] == "acknowledged", acked.stderr
        done = json.loads(_clearing(url, "alerts", "resolve", str(a["id"]), "--reason", "called").stdout)
        assert (done["state"], done["resolve_reason"]) == ("resolved", "called")
        assert len(json.loads(_clearing(url, "alerts", "list", "--state", "resolved").stdout)) == 1
        set_ = _clearing(url, "alerts", "thresholds", "alpha", "--set", "obligations_carried=9", "--reason", "sale")
        assert set_.returncode == 0, set_.stderr
        got = {t["kind"]: (t["value"], t["source"]) for t in json.loads(set_.stdout)["thresholds"]}
        assert got["obligations_carried"] == (9, "override")
        shown = json.loads(_clearing(url, "alerts", "thresholds", "alpha").stdout)
        assert shown["member"] == "alpha" and shown["tier"] == "B"
        refused = _clearing(
            url, "alerts", "thresholds", "alpha", "--set", "credit_utilisation_high=20000", "--reason", "x"
        )
        assert refused.returncode == 2 and refused.stdout == "" and "validation-error" in refused.stderr
        assert refused.stderr.count("\n") == 1
        missing = _clearing(url, "alerts", "ack", "999")
        assert missing.returncode == 2 and "404" in missing.stderr
