"""The page lifecycle suite (suite_page.py): in headless Chromium with real DevTools events
(page_runner.py), and in Node.js, which has no page. One pytest item per test and runtime.

A missing Chromium, Node.js or npm package fails the tests (never skips them).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from . import suite_page
from .conftest import HERE, SETUP_HINT, SRC, require_node_modules
from .page_runner import run_page_suite
from .servers import free_port

pytestmark = pytest.mark.wasm
SUITE = HERE / "suite_page.py"


def _index(run: dict[str, Any], runtime: str) -> dict[str, Any]:
    if "fatal" in run:
        pytest.fail(f"the page suite did not run in {runtime}:\n{run['fatal']}")
    return {result["name"]: result for result in run["results"]}


@pytest.fixture(scope="module")
def slow_echo() -> Iterator[str]:
    """``/first?delay=s``: echoes, the first message only after ``s`` seconds (a thread)."""
    port, ready = free_port(), threading.Event()
    loop = asyncio.new_event_loop()
    stop = loop.create_future()

    async def handler(ws: ServerConnection) -> None:
        assert ws.request is not None
        delay = float(ws.request.path.partition("delay=")[2] or 0)
        with contextlib.suppress(ConnectionClosed):  # the client may drop it any time
            async for message in ws:
                await asyncio.sleep(delay)
                delay = 0.0
                await ws.send(message)

    async def main() -> None:
        async with serve(handler, "127.0.0.1", port, ping_interval=None, close_timeout=1):
            ready.set()
            with contextlib.suppress(asyncio.CancelledError):
                await stop

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    if not ready.wait(10):
        pytest.fail("the slow echo server did not start")
    try:
        yield f"ws://127.0.0.1:{port}"
    finally:
        loop.call_soon_threadsafe(stop.cancel)
        thread.join(timeout=10)
        loop.close()


@pytest.fixture(scope="module")
def page_results(
    wasm_servers: dict[str, str], slow_echo: str, tmp_path_factory: pytest.TempPathFactory
) -> Any:
    require_node_modules()
    tmp = tmp_path_factory.mktemp("wasm_page")
    only = os.environ.get("OMNIWS_PAGE_ONLY", "")
    env = wasm_servers | {"only": only, "slow": slow_echo}
    run = run_page_suite(env, SRC, SUITE, HERE / "node_modules" / "pyodide", tmp, SETUP_HINT)
    if run.get("devtools_errors"):
        pytest.fail(f"DevTools actions failed: {run['devtools_errors']}")
    indexed = _index(run, "Chromium")
    for result in indexed.values():  # what Chromium said about its back/forward cache
        if result.get("outcome") == "failed":
            result["error"] += f"\nbfcache events: {run.get('bfcache_events')}"
            result["error"] += f"\npage log:\n{run.get('log')}"
    return indexed


@pytest.fixture(scope="module")
def node_page_results(
    wasm_servers: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Any:
    node = shutil.which("node")
    if node is None:
        pytest.fail(f"Node.js (node) is not on PATH: {SETUP_HINT}")
    require_node_modules()
    tmp = tmp_path_factory.mktemp("wasm_page_node")
    env_file, out_file = tmp / "env.json", tmp / "results.json"
    env_file.write_text(json.dumps(wasm_servers))
    argv = [node, str(HERE / "run_node.mjs"), str(SRC), str(SUITE), str(env_file), str(out_file)]
    done = subprocess.run(argv, cwd=HERE, capture_output=True, timeout=240, check=False)
    if not out_file.is_file():
        pytest.fail(f"Node exited with {done.returncode}:\n{done.stdout[-3000:]!r}")
    return _index(json.loads(out_file.read_text()), "Node.js")


def _check(results: dict[str, Any], name: str, runtime: str) -> None:
    result = results.get(name)
    if result is None:
        pytest.fail(f"{name} did not report a result in {runtime}")
    if result["outcome"] != "passed":
        pytest.fail(f"{name} failed in {runtime}:\n{result['error']}", pytrace=False)


@pytest.mark.parametrize("name", suite_page.names("browser"))
def test_chromium_page(page_results: dict[str, Any], name: str) -> None:
    _check(page_results, name, "Chromium")


@pytest.mark.parametrize("name", suite_page.names("node"))
def test_node_page(node_page_results: dict[str, Any], name: str) -> None:
    _check(node_page_results, name, "Node.js")


def test_runtimes_are_right(page_results: dict[str, Any], node_page_results: Any) -> None:
    assert page_results["__environment__"]["runtime"] == "browser"
    assert node_page_results["__environment__"]["runtime"] == "node"
    assert page_results["__environment__"]["python"].startswith("3.14")
