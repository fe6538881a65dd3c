#!/usr/bin/env bash
# Install everything the tests and the demo need, from scratch, into this checkout:
# a Python venv (.venv) with omniws in editable mode and the test tools, the npm packages
# of the Node test server, Pyodide and Debian's Chromium for the WebAssembly tests, and the
# Autobahn testsuite environment. Safe to run again: what is installed already is kept.
#
# It first checks what it cannot install by itself (the README's "Prerequisites") and, if
# anything is missing, lists all of it with how to get it, and stops before installing.
#
#   scripts/setup.sh                 check, then install everything (scripts/test runs this)
#   scripts/setup.sh --check         only check the prerequisites
#   scripts/setup.sh --python-only   only .venv (Python 3.10+ is all it needs)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/venv.sh  # venv_create, venv_install; sets PYTHON (default python3)

mode=all
for arg in "$@"; do
    case "$arg" in
        --python-only) mode=python ;;
        --check) mode=check ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "setup: unknown argument: $arg (use --check, --python-only or --help)" >&2; exit 2 ;;
    esac
done

missing=()
need() { missing+=("$1"); }

# --- what --python-only needs ----------------------------------------------------------
if ! command -v "$PYTHON" >/dev/null 2>&1; then
    need "Python 3.10+ as '$PYTHON': install it (pyenv install 3.11) or set PYTHON=/path/to/python3"
elif ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
    need "Python 3.10+: '$PYTHON' is $("$PYTHON" --version 2>&1); set PYTHON=/path/to/python3.11"
elif [ ! -x .venv/bin/python ] && ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
    need "the venv module of $PYTHON (Debian: apt-get install python3-venv)"
fi

# --- what the whole test suite needs (scripts/test) ------------------------------------
if [ "$mode" != python ]; then
    pyenv_root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
    if [ -z "${OMNIWS_PYTHON27:-}" ] && ! command -v pyenv >/dev/null 2>&1; then
        need "pyenv (https://github.com/pyenv/pyenv#installation): it provides Python 2.7.18 for the Autobahn testsuite and 3.10, 3.12, 3.13 for scripts/test-versions"
    fi
    if [ -n "${OMNIWS_PYTHON27:-}" ]; then
        [ -x "$OMNIWS_PYTHON27" ] || need "Python 2.7 at OMNIWS_PYTHON27=$OMNIWS_PYTHON27 (no such program)"
    elif [ ! -x "$pyenv_root/versions/2.7.18/bin/python" ]; then
        need "Python 2.7.18 for the Autobahn testsuite: pyenv install 2.7.18 (or set OMNIWS_PYTHON27)"
    fi
    for version in 3.10 3.12 3.13; do
        ls -d "$pyenv_root"/versions/"$version".*/bin/python >/dev/null 2>&1 \
            || need "Python $version for the unit tests on every version: pyenv install $version"
    done
    if ! command -v node >/dev/null 2>&1; then
        need "Node.js 18+ (the Node ws server and Pyodide tests): apt-get install nodejs npm"
    elif ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) < 18 ? 1 : 0)' 2>/dev/null; then
        need "Node.js 18+: node is $(node --version); install a newer one (apt-get install nodejs)"
    fi
    command -v npm >/dev/null 2>&1 || need "npm (the npm packages of tests/node and tests/wasm): apt-get install npm"
    command -v cc >/dev/null 2>&1 \
        || need "a C compiler for the compiled fast path (scripts/test requires it): apt-get install gcc"
    if [ ! -x /usr/bin/chromium ]; then
        if ! command -v apt-get >/dev/null 2>&1; then
            need "Chromium at /usr/bin/chromium (the browser tests); apt-get is not available to install it"
        elif [ "$(id -u)" -ne 0 ] && ! sudo -n true 2>/dev/null; then
            need "root or password-less sudo to apt-get install chromium (or install it yourself: sudo apt-get install chromium)"
        fi
    fi
    # .venv, .cache (Autobahn, venvs per Python version) and node_modules: about 450 MB
    free_mb=$(( $(df -Pk . | awk 'NR == 2 {print $4}') / 1024 ))
    want_mb=450
    [ -x /usr/bin/chromium ] || want_mb=$(( want_mb + 400 ))  # Chromium and its libraries
    [ "$free_mb" -ge "$want_mb" ] \
        || need "about $want_mb MB of free disk space here (only $free_mb MB free)"
fi

if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: missing prerequisites (see the README's \"Prerequisites\"):" >&2
    printf '  - %s\n' "${missing[@]}" >&2
    exit 1
fi
if [ "$mode" = check ]; then
    echo "setup: all prerequisites are here"
    exit 0
fi

# --- install ---------------------------------------------------------------------------
new_venv=0
[ -x .venv/bin/python ] || new_venv=1
venv_create
[ $new_venv -eq 0 ] || venv_pip install --upgrade pip
# setuptools 77+ lets scripts/wheel build offline
venv_install '.[test,bench,uvloop,docs]' 'setuptools>=77'
[ "$mode" = python ] && exit 0

echo "setup: npm packages for tests/node"
npm ci --prefix tests/node --no-audit --no-fund --loglevel=error
bash scripts/setup-wasm.sh
bash scripts/setup-autobahn.sh
echo "setup: done"
