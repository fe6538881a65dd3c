"""The in-Pyodide suite (suite.py), one pytest item per test and runtime.

The suite runs once per session in each runtime (see conftest.py); these tests only look up
their result. A failure shows the traceback from inside Pyodide.
"""

from __future__ import annotations

from typing import Any

import pytest

from . import suite

pytestmark = pytest.mark.wasm
WASM_TESTS = suite.names("wasm")


def _check(results: dict[str, Any], name: str, runtime: str) -> None:
    result = results.get(name)
    if result is None:
        pytest.fail(f"{name} did not report a result in {runtime}")
    if result["outcome"] != "passed":
        pytest.fail(f"{name} failed in Pyodide on {runtime}:\n{result['error']}", pytrace=False)


def _check_environment(results: dict[str, Any]) -> None:
    env = results["__environment__"]
    assert env["platform"] == "emscripten"
    assert env["python"].startswith("3.14"), env["python"]


def test_node_environment(node_results: dict[str, Any]) -> None:
    _check_environment(node_results)


@pytest.mark.parametrize("name", WASM_TESTS)
def test_node(node_results: dict[str, Any], name: str) -> None:
    _check(node_results, name, "Node.js")


def test_chromium_environment(chromium_results: dict[str, Any]) -> None:
    _check_environment(chromium_results)


@pytest.mark.parametrize("name", WASM_TESTS)
def test_chromium(chromium_results: dict[str, Any], name: str) -> None:
    _check(chromium_results, name, "Chromium")
