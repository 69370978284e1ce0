#!/usr/bin/env bash
# The whole test suite: static checks (ruff, mypy), Solidity (forge, slither) and
# Python (pytest, on SQLite and PostgreSQL). Sets up first, so it works on a
# fresh clone.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh --brownie

# PostgreSQL-backed tests need the local server; start it if it is down.
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || true
  fi
fi

echo "== ruff check, ruff format --check, mypy --strict (domain, services)" >&2
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy

echo "== forge fmt --check, forge test" >&2
tools/forge fmt --check contracts tests/contracts
tools/forge test
echo "== slither (High/Medium findings fail unless slither.triage.json accepts them)" >&2
./scripts/slither.sh
echo "== pytest (3 workers, each test file in one worker: its fixtures and servers stay together)" >&2
.venv/bin/pytest -n 3 --dist loadfile "$@"
