"""scripts/setup.sh checks its prerequisites before installing anything and lists all that is
missing; scripts/lib/venv.sh (behind scripts/demo and scripts/docs) runs pip only when the
checkout changed. Both are run as real shell scripts, with stand-ins for pyenv and for .venv.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _executable(path: Path, text: str = "#!/bin/sh\nexit 0\n") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)


def _check(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("PYTHON", "OMNIWS_PYTHON27")}
    environ |= {"PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path)} | env
    argv = ["bash", str(ROOT / "scripts" / "setup.sh"), *args]
    return subprocess.run(argv, capture_output=True, text=True, env=environ, timeout=60)


def test_missing_pythons_are_all_listed_with_the_command_that_installs_them(
    tmp_path: Path,
) -> None:
    (tmp_path / "bin").mkdir()
    done = _check(tmp_path, "--check")  # no pyenv on PATH, no ~/.pyenv
    assert done.returncode == 1
    assert done.stderr.startswith("setup: missing prerequisites")
    assert "  - pyenv (https://github.com/pyenv/pyenv#installation)" in done.stderr
    assert "  - Python 2.7.18 for the Autobahn testsuite: pyenv install 2.7.18" in done.stderr
    for version in ("3.10", "3.12", "3.13"):
        assert f"  - Python {version} for the unit tests" in done.stderr
        assert f"pyenv install {version}\n" in done.stderr
    assert done.stdout == ""  # nothing was installed


def test_pyenv_with_every_version_satisfies_the_python_checks(tmp_path: Path) -> None:
    pyenv_root = tmp_path / "pyenv"
    _executable(tmp_path / "bin" / "pyenv", f"#!/bin/sh\necho {pyenv_root}\n")
    for version in ("2.7.18", "3.10.13", "3.12.1", "3.13.0"):
        _executable(pyenv_root / "versions" / version / "bin" / "python")
    done = _check(tmp_path, "--check")
    assert "pyenv" not in done.stderr and "Python" not in done.stderr
    if done.returncode == 0:  # this machine has the rest (Node, npm, cc, Chromium, disk)
        assert done.stdout == "setup: all prerequisites are here\n"
    else:
        assert done.stderr.startswith("setup: missing prerequisites")


def test_python_only_needs_a_python_and_names_it(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    done = _check(tmp_path, "--python-only", PYTHON=str(tmp_path / "no-python"))
    assert done.returncode == 1
    assert done.stderr == (
        'setup: missing prerequisites (see the README\'s "Prerequisites"):\n'
        f"  - Python 3.10+ as '{tmp_path / 'no-python'}': install it (pyenv install 3.11) "
        "or set PYTHON=/path/to/python3\n"
    )


def test_an_unknown_argument_is_refused(tmp_path: Path) -> None:
    done = _check(tmp_path, "--pyhton-only")
    assert done.returncode == 2
    assert "unknown argument: --pyhton-only (use --check, --python-only or --help)" in done.stderr


# --- scripts/lib/venv.sh: pip only when the checkout changed ----------------------------
FAKE_PYTHON = """#!/bin/sh
# stands in for .venv/bin/python: records pip calls, answers sys.version
case "$*" in
  *"import sys"*) echo "3.11.7 (fake)" ;;
  *"-m pip"*)
    echo "$*" >> "$(dirname "$0")/../pip-calls"
    touch "$(dirname "$0")/omniws" && chmod +x "$(dirname "$0")/omniws"
    # what a real editable install leaves in src/: metadata (and later, bytecode)
    mkdir -p src/omniws.egg-info src/omniws/__pycache__
    date +%N > src/omniws.egg-info/PKG-INFO
    date +%N > src/omniws/__pycache__/x.pyc ;;
esac
"""


def _checkout(tmp_path: Path) -> Path:
    root = tmp_path / "checkout"
    shutil.copytree(ROOT / "scripts" / "lib", root / "scripts" / "lib")
    for name in ("pyproject.toml", "setup.py", "src/omniws/protocol/_speedups.c"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(f"# {name}\n")
    (root / "src" / "omniws" / "__init__.py").write_text("")
    _executable(root / ".venv" / "bin" / "python", FAKE_PYTHON)
    return root


def _install(root: Path, *spec: str) -> list[str]:
    """Run venv_install SPEC in ``root``; the pip calls made so far."""
    script = '. scripts/lib/venv.sh && venv_install "$@"'
    done = subprocess.run(
        ["bash", "-c", script, "venv_install", *spec],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    calls = root / ".venv" / "pip-calls"
    return calls.read_text().splitlines() if calls.is_file() else []


def test_pip_runs_once_until_the_checkout_changes(tmp_path: Path) -> None:
    root = _checkout(tmp_path)
    assert len(_install(root, ".")) == 1
    assert len(_install(root, ".")) == 1  # nothing changed: no pip
    (root / "src" / "omniws" / "__init__.py").write_text("x = 1\n")
    assert len(_install(root, ".")) == 1  # an edit: the editable install sees it already
    (root / "src" / "omniws" / "new.py").write_text("")
    assert len(_install(root, ".")) == 2  # a new module
    (root / "pyproject.toml").write_text("# changed\n")
    calls = _install(root, ".")
    assert len(calls) == 3
    assert calls[-1].endswith("-m pip --disable-pip-version-check install -e .")


def test_an_install_with_extras_covers_the_plain_one_but_not_the_reverse(
    tmp_path: Path,
) -> None:
    root = _checkout(tmp_path)
    assert len(_install(root, ".[test]", "setuptools>=77")) == 1
    assert len(_install(root, ".")) == 1  # covered by the install with extras
    assert len(_install(root, ".[docs]")) == 2  # another extra: pip again
    (root / ".venv" / "bin" / "omniws").unlink()  # uninstalled by hand
    assert len(_install(root, ".")) == 3
