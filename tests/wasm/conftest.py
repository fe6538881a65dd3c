"""Fixtures of the Pyodide tests: the servers (once per session), and one run of the whole
in-Pyodide suite per runtime (Node.js, headless Chromium), whose per-test results the
parametrized tests of test_pyodide.py assert one by one.

A missing tool (node, tests/wasm/node_modules, /usr/bin/chromium) FAILS the tests with the
command that installs it: scripts/setup-wasm.sh. Nothing is skipped.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .chromium import run_in_chromium
from .servers import Servers

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SRC = ROOT / "src"
SUITE = HERE / "suite.py"
SETUP_HINT = "run scripts/setup-wasm.sh (it installs the npm packages and Chromium)"
NODE_TIMEOUT = 240.0  # seconds for loading Pyodide and the whole suite

Results = dict[str, Any]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "wasm: runs Pyodide in Node.js or headless Chromium (scripts/setup-wasm.sh)"
    )


def require_node_modules() -> None:
    for package in ("pyodide", "ws"):
        if not (HERE / "node_modules" / package / "package.json").is_file():
            pytest.fail(f"tests/wasm/node_modules/{package} is missing: {SETUP_HINT}")


@pytest.fixture(scope="session")
def wasm_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The base URLs of the suite's servers (tests/wasm/servers.py)."""
    servers = Servers(tmp_path_factory.mktemp("wasm_servers"))
    try:
        yield servers.start()
    finally:
        servers.stop()


def _index(run: Results, runtime: str) -> Results:
    if "fatal" in run:
        pytest.fail(f"the Pyodide suite did not run in {runtime}:\n{run['fatal']}")
    return {result["name"]: result | {"run": run} for result in run["results"]}


@pytest.fixture(scope="session")
def node_results(wasm_servers: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Results:
    """The whole suite, run once in Pyodide under Node.js: {test name: result}."""
    node = shutil.which("node")
    if node is None:
        pytest.fail(f"Node.js (node) is not on PATH: install Node 18+ and {SETUP_HINT}")
    require_node_modules()
    tmp = tmp_path_factory.mktemp("wasm_node")
    env_file, out_file, log_file = tmp / "env.json", tmp / "results.json", tmp / "node.log"
    env_file.write_text(json.dumps(wasm_servers))
    argv = [node, str(HERE / "run_node.mjs"), str(SRC), str(SUITE), str(env_file), str(out_file)]
    started = time.monotonic()
    with log_file.open("wb") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=HERE)
        try:
            proc.wait(timeout=NODE_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
            pytest.fail(f"Node did not finish the suite in {NODE_TIMEOUT:g} s; log: {log_file}")
    output = log_file.read_text(errors="replace")[-4000:]
    if not out_file.is_file():
        pytest.fail(f"Node exited with {proc.returncode} and no results:\n{output}")
    run: Results = json.loads(out_file.read_text())
    run["total_seconds"] = time.monotonic() - started
    run["log"] = output
    return _index(run, "Node.js")


@pytest.fixture(scope="session")
def chromium_results(
    wasm_servers: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Results:
    """The whole suite, run once in Pyodide in headless Chromium: {test name: result}."""
    require_node_modules()
    run = run_in_chromium(
        wasm_servers,
        SRC,
        SUITE,
        HERE / "node_modules" / "pyodide",
        tmp_path_factory.mktemp("wasm_chromium"),
        SETUP_HINT,
    )
    return _index(run, "Chromium")
