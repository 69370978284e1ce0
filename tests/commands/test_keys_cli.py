"""`clearing keys list|revoke|rotate` on a real ledger, as a separate process (as an operator would run it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from clearing.services import api_keys
from tests.conftest import admit_member, ledger_house

EXE = Path(sys.executable).parent / "clearing"


def _run(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CLEARING_DATABASE_URL": db_url, "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
    return subprocess.run([str(EXE), "keys", *args], capture_output=True, text=True, timeout=120, env=env)


def test_cli_lists_rotates_and_revokes(sqlite_db):
    db = sqlite_db
    ctx = ledger_house(db)
    key = admit_member(ctx, "alpha").api_key
    listed = _run(db.url, "list", "--member", "alpha")
    assert listed.returncode == 0, listed.stderr
    [row] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert row["member"] == "alpha" and row["active"] is True
    rotated = _run(db.url, "rotate", str(row["id"]), "--overlap", "0")
    assert rotated.returncode == 0, rotated.stderr
    new_key = rotated.stdout.strip()
    assert new_key.startswith("chm_") and new_key != key
    assert api_keys.authenticate(ctx, new_key).member_name == "alpha"
    new_id = api_keys.authenticate(ctx, new_key).key_id
    revoked = _run(db.url, "revoke", str(new_id))
    assert revoked.returncode == 0, revoked.stderr
    assert [k.active for k in api_keys.list_keys(ctx, member="alpha")] == [False, False]
    missing = _run(db.url, "revoke", "999999")
    assert missing.returncode == 2 and "no API key 999999" in missing.stderr
