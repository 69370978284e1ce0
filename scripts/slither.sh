#!/usr/bin/env bash
# Slither static analysis of contracts/, a gate in the test command: fails on
# any High or Medium finding in project code that slither.triage.json does not
# accept (with its reason), prints one line per finding otherwise. Slither runs
# from .venv-slither (scripts/setup.sh) with slither.config.json; crytic-compile
# builds with forge, which compiles offline through tools/solc (foundry.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv-slither/bin/slither ]; then
  echo "slither: .venv-slither is missing; run ./scripts/setup.sh" >&2
  exit 2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# crytic-compile runs `forge clean` and `forge build --build-info --force`:
# give forge its own output folder so that never touches forge test's.
# .venv-slither/bin stays off PATH: its `solc` is solc-select's, which downloads.
export PATH="$PWD/tools:$PWD/node_modules/.bin:$PATH"  # tools/forge keeps forge's exit status
export FOUNDRY_OUT=build/slither/out FOUNDRY_CACHE_PATH=build/slither/cache
if ! .venv-slither/bin/slither . --json "$tmp/report.json" --json-types compilations,detectors \
    >/dev/null 2>"$tmp/log"; then
  tail -n 2 "$tmp/log" >&2
  # npm's forge wrapper exits 0 even when solc fails, so crytic-compile only
  # sees the missing build-info: show the compiler's own message.
  echo "slither: analysis failed; forge build says:" >&2
  forge build --skip './tests/**' 2>&1 | tail -n 30 >&2
  exit 1
fi
.venv-slither/bin/python tools/slither-env/gate.py "$tmp/report.json" slither.triage.json
