"""The pure core stays pure: importing every domain module loads no framework, driver or outer layer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import clearing

FORBIDDEN_PACKAGES = {"fastapi", "starlette", "sqlalchemy", "web3", "eth_account", "psycopg", "psycopg2"}
FORBIDDEN_LAYERS = ("clearing.adapters", "clearing.services", "clearing.api")

_PROBE = """
import importlib, json, pkgutil, sys
import clearing.domain
for info in pkgutil.walk_packages(clearing.domain.__path__, "clearing.domain."):
    importlib.import_module(info.name)
print(json.dumps(sorted(sys.modules)))
"""


def test_domain_imports_no_framework_and_no_outer_layer():
    # A fresh interpreter (this process has loaded whatever other tests needed), on the same checkout.
    env = {**os.environ, "PYTHONPATH": str(Path(clearing.__file__).resolve().parents[1])}
    out = subprocess.run([sys.executable, "-c", _PROBE], check=True, capture_output=True, text=True, env=env)
    loaded = json.loads(out.stdout)
    assert "clearing.domain.liquidity.dispatch" in loaded and "clearing.domain.velocity" in loaded
    bad = [m for m in loaded if m.split(".")[0] in FORBIDDEN_PACKAGES or m.startswith(FORBIDDEN_LAYERS)]
    assert bad == []
