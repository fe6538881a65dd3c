#!/usr/bin/env bash
# Install what the Pyodide tests (tests/wasm) need: the npm packages `pyodide` (the runtime,
# loaded offline from node_modules) and `ws` (Node's WebSocket) from tests/wasm/package-lock.json,
# and Debian's Chromium (/usr/bin/chromium, apt package `chromium`) for the browser run.
#
# Idempotent: what is already installed is left alone. Fails loudly (non-zero exit, message on
# stderr) when something cannot be installed; the tests fail, never skip, without them.
#
#   scripts/setup-wasm.sh            install what is missing
#   scripts/setup-wasm.sh --no-browser   npm packages only (the Chromium tests will fail)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
wasm_dir="$repo_root/tests/wasm"
chromium=/usr/bin/chromium

die() { echo "setup-wasm: ERROR: $*" >&2; exit 1; }
log() { echo "setup-wasm: $*"; }
trap 'die "command failed (line $LINENO): $BASH_COMMAND"' ERR

browser=1
for arg in "$@"; do
    case "$arg" in
        --no-browser) browser=0 ;;
        -h|--help) sed -n '2,10p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) die "unknown argument: $arg (use --no-browser or --help)" ;;
    esac
done

# --- npm packages ----------------------------------------------------------------------------
command -v node >/dev/null 2>&1 || die "Node.js is required (Node 18+; apt-get install nodejs npm)"
command -v npm >/dev/null 2>&1 || die "npm is required (apt-get install npm)"
installed() {  # the locked versions are in node_modules already
    node -e '
        const lock = require(process.argv[1] + "/package-lock.json");
        for (const name of ["pyodide", "ws"]) {
            const want = lock.packages["node_modules/" + name].version;
            const have = require(process.argv[1] + "/node_modules/" + name + "/package.json").version;
            if (want !== have) process.exit(1);
        }' "$wasm_dir" 2>/dev/null
}
if installed; then
    log "npm packages already installed in tests/wasm/node_modules"
else
    log "npm packages for tests/wasm (pyodide, ws)"
    npm ci --prefix "$wasm_dir" --no-audit --no-fund --loglevel=error \
        || die "npm ci failed in tests/wasm (is the npm registry reachable?)"
    installed || die "tests/wasm/node_modules does not hold the locked pyodide and ws after npm ci"
fi
[[ -f "$wasm_dir/node_modules/pyodide/pyodide.asm.wasm" ]] \
    || die "tests/wasm/node_modules/pyodide has no pyodide.asm.wasm"

# --- Chromium --------------------------------------------------------------------------------
if [[ $browser -eq 1 ]]; then
    if [[ -x "$chromium" ]]; then
        log "chromium already installed: $("$chromium" --version 2>/dev/null | head -n 1)"
    else
        command -v apt-get >/dev/null 2>&1 \
            || die "$chromium is missing and apt-get is not available: install Chromium so that $chromium exists"
        sudo=""
        if [[ $(id -u) -ne 0 ]]; then
            command -v sudo >/dev/null 2>&1 || die "installing chromium needs root (or sudo)"
            sudo="sudo"
        fi
        log "installing chromium with apt-get (a few minutes)"
        $sudo apt-get update -q >/dev/null || die "apt-get update failed"
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q chromium >/dev/null \
            || die "apt-get install chromium failed"
        [[ -x "$chromium" ]] || die "apt-get installed chromium but $chromium does not exist"
        log "chromium installed: $("$chromium" --version 2>/dev/null | head -n 1)"
    fi
fi
log "done"
