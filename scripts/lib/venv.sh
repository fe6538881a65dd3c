# Sourced by scripts/setup.sh, scripts/demo and scripts/docs: the checkout's .venv, and an
# editable install of omniws into it that pip redoes only when the checkout changed.
#
#   venv_create                  make .venv with $PYTHON (default python3) if it is missing
#   venv_pip ARGS...             .venv's pip, its output kept in .venv/pip.log unless it fails
#   venv_install SPEC [PIP ARGS] pip install -e SPEC (e.g. '.' or '.[docs]') unless the stamp
#                                of that SPEC and ARGS matches the checkout; pip stays quiet
#
# The stamp (.venv/.omniws-stamp-<SPEC and ARGS>) hashes what an editable install depends
# on: pyproject.toml, setup.py, the C accelerator's source (compiled in place), the list of
# files under src/ (a new module, a new package) and the Python version. Code edits need no
# reinstall: the install points at src/. Any install with extras covers '.' alone.
# Run from the checkout's root.

PYTHON=${PYTHON:-python3}

venv_create() {
    if [ ! -x .venv/bin/python ]; then
        echo "setup: creating .venv with $("$PYTHON" --version 2>&1)"
        "$PYTHON" -m venv .venv || {
            echo "setup: '$PYTHON -m venv' failed: install the venv module (Debian: apt-get install python3-venv) or set PYTHON" >&2
            return 1
        }
    fi
}

venv_pip() {  # .venv's pip with its output in .venv/pip.log, shown (the end) only on failure
    if ! .venv/bin/python -m pip --disable-pip-version-check "$@" >.venv/pip.log 2>&1; then
        tail -n 25 .venv/pip.log >&2
        echo "setup: pip $* failed (all of its output: .venv/pip.log; is the package index reachable?)" >&2
        return 1
    fi
}

venv_stamp() {  # the state of the checkout that an editable install depends on
    {
        .venv/bin/python -c 'import sys; print(sys.version)'
        cat pyproject.toml setup.py src/omniws/protocol/_speedups.c src/omniws/protocol/_speedups_*.h
        find src \( -name __pycache__ -o -name '*.egg-info' \) -prune -o -type f ! -name '*.so' -print | LC_ALL=C sort
    } | sha256sum | cut -d' ' -f1
}

venv_install() {
    local stamp_file stamp other
    stamp_file=".venv/.omniws-stamp-$(printf '%s' "$*" | tr -c 'A-Za-z0-9' '_')"
    stamp=$(venv_stamp)
    [ -x .venv/bin/omniws ] || rm -f .venv/.omniws-stamp-*  # omniws was uninstalled
    if [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$stamp" ]; then
        return 0  # installed from this very checkout state already
    fi
    if [ "$*" = "." ]; then
        for other in .venv/.omniws-stamp-*; do
            [ -f "$other" ] && [ "$(cat "$other")" = "$stamp" ] && return 0
        done
    fi
    echo "setup: installing omniws ($*) into .venv"
    rm -f "$stamp_file"
    venv_pip install -e "$@"
    echo "$stamp" >"$stamp_file"
}
