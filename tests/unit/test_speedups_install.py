"""Which frame implementation omniws selects, and the install without a C compiler.

Environment: ``OMNIWS_REQUIRE_SPEEDUPS=1`` (the compiled CI job) turns a missing extension
into a failure instead of a skip; ``OMNIWS_SKIP_BUILD_TEST=1`` skips the slow no-compiler
install test (it builds the package in a temporary directory with build isolation).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from omniws.protocol import frames
from omniws.protocol.frames import PyFrameDecoder, py_encode_frame, py_mask

ROOT = Path(__file__).resolve().parents[2]

try:
    from omniws.protocol import _speedups
except ImportError:  # pragma: no cover - the pure-Python install
    _speedups = None  # type: ignore[assignment]

needs_speedups = pytest.mark.skipif(_speedups is None, reason="the C accelerator is not built")


def test_extension_present_when_required() -> None:
    if os.environ.get("OMNIWS_REQUIRE_SPEEDUPS", "") not in ("", "0"):
        assert _speedups is not None, "the C accelerator was not built"
        if os.environ.get("OMNIWS_PURE_PYTHON", "") in ("", "0"):
            assert frames.implementation() == "compiled"


def test_selection_matches_environment() -> None:
    pure = os.environ.get("OMNIWS_PURE_PYTHON", "") not in ("", "0")
    expected = "python" if pure or _speedups is None else "compiled"
    assert frames.implementation() == expected
    if expected == "python":
        assert frames.mask is py_mask
        assert frames.encode_frame is py_encode_frame
        assert frames.FrameDecoder is PyFrameDecoder
    else:
        assert frames.mask is not py_mask
        assert frames.FrameDecoder._check is PyFrameDecoder._check


@pytest.mark.parametrize("value", ["1", "yes"])
def test_environment_variable_forces_pure_python(value: str) -> None:
    env = dict(os.environ, OMNIWS_PURE_PYTHON=value)
    code = (
        "from omniws.protocol import frames; "
        "print(frames.implementation(), frames.FrameDecoder.__name__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["python", "PyFrameDecoder"]


@needs_speedups
def test_without_the_variable_the_extension_is_used() -> None:
    env = {k: v for k, v in os.environ.items() if k != "OMNIWS_PURE_PYTHON"}
    code = "from omniws.protocol import frames; print(frames.implementation())"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.stdout.strip() == "compiled", out.stderr


def test_install_without_a_compiler_falls_back_to_pure_python(tmp_path: Path) -> None:
    """``pip install .`` with a C compiler that always fails still installs, pure Python."""
    if os.environ.get("OMNIWS_SKIP_BUILD_TEST", "") not in ("", "0"):
        pytest.skip("OMNIWS_SKIP_BUILD_TEST is set")
    source = tmp_path / "src-tree"
    shutil.copytree(
        ROOT / "src",
        source / "src",
        ignore=shutil.ignore_patterns("*.so", "*.pyd", "__pycache__", "*.egg-info"),
    )
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    target = tmp_path / "site"
    env = dict(os.environ, CC="/bin/false", CXX="/bin/false", PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.pop("OMNIWS_PURE_PYTHON", None)
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-v", "--no-deps", "--no-cache-dir", "--target",
         str(target), str(source)],
        env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert install.returncode == 0, install.stdout + install.stderr
    assert "could not be built" in install.stdout + install.stderr
    assert not list(target.glob("omniws/protocol/_speedups*.so"))
    assert not list(target.glob("omniws/protocol/_speedups*.pyd"))
    code = "import omniws.protocol.frames as f; print(f.implementation(), f.__file__)"
    check = subprocess.run(
        [sys.executable, "-c", code],
        env=dict(env, PYTHONPATH=str(target)), capture_output=True, text=True, timeout=60,
        cwd=tmp_path,
    )  # fmt: skip
    assert check.returncode == 0, check.stderr
    implementation, path = check.stdout.split()
    assert implementation == "python"
    assert Path(path).is_relative_to(target)
