"""Runs the `clearing` command as a user would, in a fresh process against a live server.

The child sees none of the test process's ``CLEARING_*`` settings, only the server's URL, the operator key
(``operator_key``, None for none) and whatever ``env`` adds (a member key, a signing key).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.api.conftest import OPERATOR_KEY

SRC = str(Path(__file__).resolve().parents[2] / "src")


def run_clearing(
    url: str,
    *args: str,
    operator_key: str | None = OPERATOR_KEY,
    env: dict[str, str] | None = None,
    timeout: int = 120,
) -> subprocess.CompletedProcess[str]:
    child = {k: v for k, v in os.environ.items() if not k.startswith("CLEARING_")}
    child |= {"PYTHONPATH": SRC, "CLEARING_API__URL": url, **(env or {})}
    if operator_key:
        child["CLEARING_API__OPERATOR_KEY"] = operator_key
    code = "from clearing.cli import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args], env=child, capture_output=True, text=True, timeout=timeout
    )
