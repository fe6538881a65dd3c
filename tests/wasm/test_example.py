"""examples/browser works: its server runs, and the page, in headless Chromium, connects,
greets from Python 3.14 on emscripten and echoes what the send button sends.

No driver: Chromium's DevTools protocol is spoken over its WebSocket with the `websockets`
sync client, to read the page's log and click its button.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as ws_connect

from .chromium import CHROMIUM, FLAGS, stop_process
from .conftest import ROOT, SETUP_HINT, require_node_modules
from .servers import PyServer, free_port

pytestmark = pytest.mark.wasm
SERVE = ROOT / "examples" / "browser" / "serve.py"
DEADLINE = 90.0  # seconds for Pyodide to load and the page to talk to the echo server


class Page:
    """One page target of Chromium's DevTools protocol."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.next_id = 0

    def evaluate(self, expression: str) -> Any:
        self.next_id += 1
        request = {"id": self.next_id, "method": "Runtime.evaluate"}
        request["params"] = {"expression": expression, "returnByValue": True}
        self.ws.send(json.dumps(request))
        for _ in range(1000):  # skip events until our answer
            answer = json.loads(self.ws.recv(timeout=10))
            if answer.get("id") == self.next_id:
                return answer["result"]["result"].get("value")
        raise AssertionError("no DevTools answer")

    def wait_for_log(self, text: str, deadline: float) -> str:
        log = ""
        while time.monotonic() < deadline:
            log = self.evaluate("document.getElementById('log').textContent") or ""
            if text in log:
                return log
            time.sleep(0.2)
        raise AssertionError(f"{text!r} not in the page's log in time:\n{log[-2000:]}")


def _devtools_page(profile: Path, deadline: float) -> str:
    port_file = profile / "DevToolsActivePort"
    while time.monotonic() < deadline:
        if port_file.is_file() and port_file.read_text().strip():
            port = port_file.read_text().split()[0]
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as r:
                pages = [t for t in json.load(r) if t.get("type") == "page"]
            if pages:
                return str(pages[0]["webSocketDebuggerUrl"])
        time.sleep(0.1)
    raise AssertionError("Chromium's DevTools endpoint did not come up")


def test_example_page(tmp_path: Path) -> None:
    require_node_modules()
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: {SETUP_HINT}")
    http_port, ws_port = free_port(), free_port()
    argv = [sys.executable, str(SERVE), "--port", str(http_port), "--ws-port", str(ws_port)]
    server = PyServer(http_port, tmp_path / "serve.log", argv)
    server.start()
    deadline = time.monotonic() + DEADLINE
    try:
        with tempfile.TemporaryDirectory(prefix="omniws-example-") as profile:
            argv = [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}"]
            page_url = f"http://127.0.0.1:{http_port}/?ws=ws://127.0.0.1:{ws_port}/"
            argv += ["--remote-debugging-port=0", page_url]
            with (tmp_path / "chromium.log").open("wb") as log:
                proc = subprocess.Popen(
                    argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )
            try:
                devtools = _devtools_page(Path(profile), deadline)
                with ws_connect(devtools, max_size=None, open_timeout=10) as ws:
                    page = Page(ws)
                    log_text = page.wait_for_log("received: 'hello from Python 3.14", deadline)
                    assert "on emscripten" in log_text and "state: Connected" in log_text
                    page.evaluate("document.getElementById('text').value = 'typed in the page'")
                    page.evaluate("document.getElementById('send').click()")
                    page.wait_for_log("received: 'typed in the page'", deadline)
            finally:
                stop_process(proc)
    finally:
        server.stop()
