"""scripts/test runs every pass, summarises them and fails if any failed (issue 11 item 9).

The real script runs in a scratch directory where scripts/setup.sh, scripts/test-versions
and the tools in .venv/bin are stubs that log their call and exit with a chosen status, so
the logic is checked in milliseconds without running the suite.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PASSES = [
    "ruff", "mypy", "docs", "import-contracts", "unit-other-pythons", "pytest-pure",
    "pytest-compiled", "integration-fast",
]
# the stubs: path in the scratch checkout -> the name it logs
STUBS = {
    "scripts/setup.sh": "setup",
    "scripts/test-versions": "test-versions",
    "scripts/docs": "docs",
    ".venv/bin/ruff": "ruff",
    ".venv/bin/mypy": "mypy",
    ".venv/bin/lint-imports": "lint-imports",
    ".venv/bin/pytest": "pytest",
}

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def _scratch(tmp_path: Path, failing: set[str]) -> Path:
    (tmp_path / "scripts").mkdir()
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "test", tmp_path / "scripts" / "test")
    for rel, name in STUBS.items():
        status = 1 if name in failing else 0
        stub = tmp_path / rel
        # pytest logs its environment switch too, to tell the two pytest passes apart
        stub.write_text(
            "#!/usr/bin/env bash\n"
            f'echo "{name} pure=${{OMNIWS_PURE_PYTHON:-}} args=$*" >> "$(dirname "$0")/'
            f'{"../" if rel.startswith(".venv") else ""}../calls.log"\n'
            f"exit {status}\n"
        )
        stub.chmod(0o755)
    return tmp_path


def _run(
    root: Path, *args: str, env_extra: dict[str, str] | None = None
) -> tuple[int, str, list[str]]:
    env = {"PATH": "/usr/bin:/bin", **(env_extra or {})}
    proc = subprocess.run(
        ["bash", str(root / "scripts" / "test"), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    log = root / "calls.log"
    calls = log.read_text().splitlines() if log.exists() else []
    return proc.returncode, proc.stdout + proc.stderr, calls


def _summary(output: str) -> dict[str, str]:
    tail = output.split("== summary", 1)[1]
    rows = {}
    for line in tail.splitlines():
        match = re.match(r"^(\S+)\s+(ok|FAILED \(exit \d+\))\s+(\d+)s$", line)
        if match:
            rows[match[1]] = match[2]
    return rows


def test_all_passes_ok(tmp_path: Path) -> None:
    root = _scratch(tmp_path, set())
    status, output, calls = _run(root, "-k", "x")
    assert status == 0, output
    assert _summary(output) == dict.fromkeys(PASSES, "ok")
    assert [c.split()[0] for c in calls] == [
        "setup", "ruff", "mypy", "docs", "lint-imports", "test-versions", "pytest", "pytest",
        "pytest",
    ]
    # both pytest passes get the extra arguments; the first runs the pure-Python core
    assert calls[-3].endswith("-k x") and "pure=1" in calls[-3]
    assert calls[-2].endswith("-k x") and "pure= " in calls[-2]
    assert calls[-1].endswith("-k x") and "tests/integration" in calls[-1]
    assert "all passes ok" in output


@pytest.mark.parametrize(
    "failing", [{"ruff"}, {"pytest"}, {"mypy", "test-versions"}, {"docs"}]
)
def test_a_failing_pass_does_not_stop_the_others(tmp_path: Path, failing: set[str]) -> None:
    root = _scratch(tmp_path, failing)
    status, output, calls = _run(root)
    assert status == 1, output
    assert len(calls) == 9, calls  # setup + every pass ran
    rows = _summary(output)
    assert list(rows) == PASSES
    failed = {name for name, result in rows.items() if result != "ok"}
    expected = {
        "ruff": {"ruff"},
        "mypy": {"mypy"},
        "docs": {"docs"},
        "test-versions": {"unit-other-pythons"},
        "pytest": {"pytest-pure", "pytest-compiled", "integration-fast"},
    }
    assert failed == set().union(*(expected[name] for name in failing))
    assert "FAILED" in output


def test_failing_setup_stops_at_once(tmp_path: Path) -> None:
    root = _scratch(tmp_path, {"setup"})
    status, output, calls = _run(root)
    assert status == 1
    assert [c.split()[0] for c in calls] == ["setup"]
    assert "setup failed" in output


def test_only_selects_passes(tmp_path: Path) -> None:
    root = _scratch(tmp_path, {"mypy"})
    status, output, calls = _run(root, env_extra={"OMNIWS_TEST_ONLY": "ruff mypy"})
    assert status == 1
    assert _summary(output) == {"ruff": "ok", "mypy": "FAILED (exit 1)"}
    assert [c.split()[0] for c in calls] == ["setup", "ruff", "mypy"]
