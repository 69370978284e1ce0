#!/usr/bin/env bash
# Set up everything from the package registries: the Python environment
# (.venv, from pyproject.toml) and the Solidity toolchain (node_modules, from
# package-lock.json), and Slither's own environment (.venv-slither, from
# tools/slither-env: slither-analyzer needs web3 < 8). Idempotent; `--brownie`
# also builds .venv-brownie.
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${PYTHON:-$(command -v python3.11 || command -v python3)}"
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $PY" >&2
  "$PY" -m venv .venv
fi
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "setup: installing Python dependencies" >&2
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e '.[dev]'
  touch "$stamp"
fi
nstamp=node_modules/.installed-$(sha256sum package-lock.json | cut -c1-16)
if [ ! -f "$nstamp" ]; then
  echo "setup: installing the Solidity toolchain (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error
  touch "$nstamp"
fi

# The console's browser tests drive Debian's chromium through Playwright's Python package (pinned in
# pyproject.toml); no browser is downloaded (never `playwright install`).
if [ ! -x /usr/bin/chromium ]; then
  echo "setup: installing chromium (Debian) for the console's browser tests" >&2
  apt-get install -y -q chromium >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }
fi

# Slither is part of the test command, so it is set up without a flag; its
# pins (pyproject.toml, constraints.txt) are small and install in seconds.
sstamp=.venv-slither/.installed-$(cat tools/slither-env/pyproject.toml tools/slither-env/constraints.txt | sha256sum | cut -c1-16)
if [ ! -f "$sstamp" ]; then
  echo "setup: creating .venv-slither (slither-analyzer needs web3 < 8)" >&2
  rm -rf .venv-slither
  "$PY" -m venv .venv-slither
  .venv-slither/bin/pip install -q --upgrade pip
  .venv-slither/bin/pip install -q -c tools/slither-env/constraints.txt ./tools/slither-env
  touch "$sstamp"
fi

if [ "${1:-}" = "--brownie" ]; then
  if [ ! -x .venv-brownie/bin/brownie ]; then
    echo "setup: creating .venv-brownie (eth-brownie pins web3 7)" >&2
    "$PY" -m venv .venv-brownie
    .venv-brownie/bin/pip install -q --upgrade pip
    .venv-brownie/bin/pip install -q ./tools/brownie-env
  fi
  # brownie looks for compilers in ~/.solcx; point it at the offline wrapper.
  ver=$(node -p "require('./node_modules/solc/package.json').version")
  mkdir -p "$HOME/.solcx"
  ln -sf "$PWD/tools/solc" "$HOME/.solcx/solc-v$ver"
  # brownie creates its build folders one level at a time (no parents): give it the first.
  mkdir -p build/brownie
fi
