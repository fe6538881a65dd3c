#!/usr/bin/env bash
# Install everything the tests and the demo need, from scratch, into this checkout:
# a Python venv (.venv) with omniws in editable mode and the test tools, the npm packages
# of the Node test server, Pyodide and Debian's Chromium for the WebAssembly tests, and the
# Autobahn testsuite environment. Safe to run again.
# Usage: scripts/setup.sh [--python-only]
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv with $($PYTHON --version)"
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test,bench,uvloop]'
[ "${1:-}" = "--python-only" ] && exit 0

command -v node >/dev/null || { echo "setup: Node.js is required for the Node ws server tests (apt-get install nodejs npm)" >&2; exit 1; }
echo "setup: npm packages for tests/node"
npm ci --prefix tests/node --no-audit --no-fund --loglevel=error
bash scripts/setup-wasm.sh
bash scripts/setup-autobahn.sh
echo "setup: done"
