#!/usr/bin/env bash
# Install what the Pyodide tests (tests/wasm) need: the npm packages `pyodide` (the runtime,
# loaded offline from node_modules) and `ws` (Node's WebSocket) from tests/wasm/package-lock.json,
# micropip's wheel from PyPI into tests/wasm/wheels/ (the npm package ships none; the test of
# the pure wheel installs omniws with it), and Debian's Chromium (/usr/bin/chromium, apt
# package `chromium`) for the browser run.
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
MICROPIP_VERSION=0.11.1  # the one pyodide 314.0.7's lock file names
MICROPIP_SHA256=768de165adb8e66906039d8fec4127a57f522dfdf8e6fbff877a4616941ecfd3

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

# --- micropip (the version pyodide-lock.json names; PyPI's build of it, checked by hash) -----
micropip_wheel="$wasm_dir/wheels/micropip-$MICROPIP_VERSION-py3-none-any.whl"
if [[ -f "$micropip_wheel" ]] && echo "$MICROPIP_SHA256  $micropip_wheel" | sha256sum -c --status; then
    log "micropip $MICROPIP_VERSION already in tests/wasm/wheels"
else
    python=python3
    [[ -x "$repo_root/.venv/bin/python" ]] && python="$repo_root/.venv/bin/python"
    log "micropip $MICROPIP_VERSION wheel into tests/wasm/wheels"
    mkdir -p "$wasm_dir/wheels"
    "$python" -m pip download --quiet --disable-pip-version-check --no-deps \
        --only-binary :all: --python-version 3.13 -d "$wasm_dir/wheels" \
        "micropip==$MICROPIP_VERSION" >"$wasm_dir/wheels/pip.log" 2>&1 \
        || { tail -n 20 "$wasm_dir/wheels/pip.log" >&2
             die "pip could not download micropip==$MICROPIP_VERSION (is PyPI reachable?)"; }
    echo "$MICROPIP_SHA256  $micropip_wheel" | sha256sum -c --status \
        || die "$micropip_wheel does not have the expected sha256 $MICROPIP_SHA256"
fi

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
