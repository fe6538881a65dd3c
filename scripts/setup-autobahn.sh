#!/usr/bin/env bash
# Install the Autobahn testsuite fuzzing server (Python 2.7 only) into .cache/autobahn/.
#
# Idempotent: a marker file records a finished install; a second run does nothing.
# Fails loudly (non-zero exit, message on stderr) when something it needs is missing.
#
#   scripts/setup-autobahn.sh            install if needed
#   scripts/setup-autobahn.sh --force    reinstall from scratch
#
# Layout (all git-ignored):
#   .cache/autobahn/bootstrap/   a small Python 3 venv holding virtualenv==20.21.1
#   .cache/autobahn/py27/        the Python 2.7 environment with wstest
#   .cache/autobahn/.installed   the marker (its content describes the install)
set -euo pipefail

start_time=$(date +%s)
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache_dir="${OMNIWS_AUTOBAHN_DIR:-$repo_root/.cache/autobahn}"
bootstrap_dir="$cache_dir/bootstrap"
py27_dir="$cache_dir/py27"
marker="$cache_dir/.installed"

AUTOBAHN_VERSION="25.10.1"
VIRTUALENV_VERSION="20.21.1"
# Pins that make autobahntestsuite run on Python 2.7 (see shared/notes/AUTOBAHN.md).
PY27_PINS=(
    "setuptools==44.0.0" "txaio==2.1.0" "incremental==16.10.1" "pyOpenSSL==19.1.0"
    "cryptography==3.3.2" "Twisted==19.10.0" "zope.interface==4.6.0" "jinja2==2.11.3"
    "markupsafe==1.1.1" "Werkzeug==1.0.1" "klein==17.10.0" "service_identity==18.1.0"
    "unittest2==1.1.0" "six==1.16.0" "autobahn[accelerate,twisted]==0.10.9"
)
# Stamp stored in the marker: a change of versions or pins forces a reinstall.
stamp="autobahntestsuite==$AUTOBAHN_VERSION virtualenv==$VIRTUALENV_VERSION ${PY27_PINS[*]}"

die() {
    echo "setup-autobahn: ERROR: $*" >&2
    echo "setup-autobahn: failed after $(( $(date +%s) - start_time )) s" >&2
    exit 1
}
log() { echo "setup-autobahn: $*"; }
pip_log="$cache_dir/pip.log"
# Run pip with its (noisy) output in $pip_log; on failure show the end of it and die.
quiet_pip() {
    local what="$1"; shift
    if ! "$@" >>"$pip_log" 2>&1; then
        tail -n 25 "$pip_log" >&2 || true
        die "pip could not install $what (full output: $pip_log; is the package index reachable?)"
    fi
}
trap 'die "command failed (line $LINENO): $BASH_COMMAND"' ERR

force=0
for arg in "$@"; do
    case "$arg" in
        --force) force=1 ;;
        -h|--help) sed -n '2,14p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) die "unknown argument: $arg (use --force or --help)" ;;
    esac
done

if [[ $force -eq 0 && -f "$marker" && -x "$py27_dir/bin/wstest" ]] \
        && [[ "$(sed -n 1p "$marker")" == "$stamp" ]]; then
    log "already installed in $cache_dir (marker $marker); use --force to reinstall"
    exit 0
fi

# --- find the interpreters -------------------------------------------------------------
if [[ -n "${OMNIWS_PYTHON27:-}" ]]; then
    python27="$OMNIWS_PYTHON27"
else
    command -v pyenv >/dev/null 2>&1 \
        || die "pyenv not found on PATH; it should provide Python 2.7.18 (or set OMNIWS_PYTHON27)"
    python27="$(pyenv root)/versions/2.7.18/bin/python"
fi
[[ -x "$python27" ]] \
    || die "Python 2.7 not found at $python27 (install it: 'pyenv install 2.7.18', or set OMNIWS_PYTHON27)"
py27_version="$("$python27" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>&1)" \
    || die "$python27 does not run: $py27_version"
[[ "$py27_version" == "2.7" ]] || die "$python27 is Python $py27_version, not 2.7"

python3="${OMNIWS_PYTHON3:-}"
if [[ -z "$python3" ]]; then
    for candidate in python3.11 python3.12 python3.10 python3.13 python3; do
        # sys.executable: the real interpreter behind a pyenv shim
        if python3="$("$candidate" -c 'import sys; print(sys.executable)' 2>/dev/null)" \
                && [[ -n "$python3" ]]; then
            break
        fi
        python3=""
    done
fi
[[ -n "$python3" && -x "$python3" ]] || die "no Python 3 interpreter found (set OMNIWS_PYTHON3)"
"$python3" -c 'import venv' 2>/dev/null || die "$python3 has no venv module (apt-get install python3-venv)"
log "python 2.7: $python27"
log "python 3:   $python3 ($("$python3" -V 2>&1))"

# --- install ------------------------------------------------------------------------------
rm -rf "$bootstrap_dir" "$py27_dir" "$marker"
mkdir -p "$cache_dir"
: > "$pip_log"

t0=$(date +%s)
log "creating the bootstrap venv with virtualenv==$VIRTUALENV_VERSION ..."
"$python3" -m venv "$bootstrap_dir" || die "could not create a venv with $python3"
quiet_pip "virtualenv==$VIRTUALENV_VERSION" \
    "$bootstrap_dir/bin/python" -m pip install "virtualenv==$VIRTUALENV_VERSION"
log "bootstrap venv ready ($(( $(date +%s) - t0 )) s)"

t0=$(date +%s)
log "creating the Python 2.7 environment ..."
"$bootstrap_dir/bin/python" -m virtualenv --quiet -p "$python27" "$py27_dir" \
    || die "virtualenv could not create a Python 2.7 environment from $python27"
log "Python 2.7 environment ready ($(( $(date +%s) - t0 )) s)"

t0=$(date +%s)
log "installing autobahntestsuite==$AUTOBAHN_VERSION and its pinned dependencies ..."

quiet_pip "the pinned Python 2.7 packages" \
    "$py27_dir/bin/python" -m pip install --no-warn-script-location "${PY27_PINS[@]}"
quiet_pip "autobahntestsuite==$AUTOBAHN_VERSION" \
    "$py27_dir/bin/python" -m pip install --no-deps --no-warn-script-location \
    "autobahntestsuite==$AUTOBAHN_VERSION"
log "packages installed ($(( $(date +%s) - t0 )) s)"

# --- verify -------------------------------------------------------------------------------
[[ -x "$py27_dir/bin/wstest" ]] || die "wstest was not installed in $py27_dir/bin"
"$py27_dir/bin/python" -c 'import autobahntestsuite, autobahn, twisted; from autobahntestsuite import wstest' \
    || die "the Python 2.7 environment cannot import autobahntestsuite"
"$py27_dir/bin/python" "$repo_root/conformance/wstest_local.py" --help >/dev/null 2>&1 \
    || die "conformance/wstest_local.py --help failed in the Python 2.7 environment"

printf '%s\n%s\n' "$stamp" "installed $(date -u +%Y-%m-%dT%H:%M:%SZ) from $python27" > "$marker"
log "done: $py27_dir/bin/wstest ready in $(( $(date +%s) - start_time )) s"
