"""Run the page lifecycle suite (suite_page.py) in headless Chromium, with the DevTools
protocol at hand to make real browser events.

Like chromium.py, a small HTTP server on 127.0.0.1 serves the page (browser/page.html), the
npm ``pyodide`` files, the omniws sources and the suite, and takes the results. Chromium runs
with ``--remote-debugging-port=0``; omniws itself (native, in a thread of the pytest process)
is the DevTools client. The page asks for an action with ``POST /devtools`` (answered at once,
done shortly after, so that no request of the page is in flight meanwhile):

- ``{"action": "offline", "seconds": s}``: Network.emulateNetworkConditions offline for s;
- ``{"action": "freeze", "seconds": s}``: Page.setWebLifecycleState frozen, then active;
- ``{"action": "away", "seconds": s}``: navigate to /away, and back after s (bfcache).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import subprocess
import tempfile
import threading
import time
import urllib.request
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import omniws

from .chromium import CHROMIUM, FLAGS, TYPES, Site, source_files, stop_process

PAGE = Path(__file__).resolve().parent / "browser" / "page.html"
AWAY = b"<!doctype html><title>away</title><p>away from the suite</p>"
RESULTS_TIMEOUT = 240.0
ACTION_DELAY = 0.3  # seconds between the answer to /devtools and the action


class DevTools:
    """A DevTools session on one page target, on its own event loop thread."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="devtools", daemon=True)
        self.ws: Any = None
        self.ids = itertools.count(1)
        self.pending: dict[int, asyncio.Future[Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.reader: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.thread.start()
        self.run(self._open(), 20)

    def run(self, coro: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _open(self) -> None:
        self.ws = await omniws.connect(self.url, max_message_size=None, compression=False)
        self.reader = asyncio.get_running_loop().create_task(self._read())
        await self.call("Page.enable")
        await self.call("Network.enable")

    async def _read(self) -> None:
        async for raw in self.ws:
            message = json.loads(raw)
            future = self.pending.pop(message.get("id", -1), None)
            if future is not None and not future.done():
                future.set_result(message)
            elif "method" in message:
                self.events.append(message)

    async def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        ident = next(self.ids)
        future = asyncio.get_running_loop().create_future()
        self.pending[ident] = future
        await self.ws.send(json.dumps({"id": ident, "method": method, "params": params or {}}))
        answer = await asyncio.wait_for(future, 20)
        if "error" in answer:
            raise RuntimeError(f"DevTools {method} failed: {answer['error']}")
        return answer.get("result", {})

    async def act(self, action: str, seconds: float, base: str) -> None:
        await asyncio.sleep(ACTION_DELAY)
        if action == "offline":
            conditions = {"latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
            await self.call("Network.emulateNetworkConditions", {"offline": True, **conditions})
            await asyncio.sleep(seconds)
            await self.call("Network.emulateNetworkConditions", {"offline": False, **conditions})
        elif action == "freeze":
            await self.call("Page.setWebLifecycleState", {"state": "frozen"})
            await asyncio.sleep(seconds)
            await self.call("Page.setWebLifecycleState", {"state": "active"})
        elif action == "away":
            history = await self.call("Page.getNavigationHistory")
            entry = history["entries"][history["currentIndex"]]["id"]
            await self.call("Page.navigate", {"url": f"{base}away"})
            await asyncio.sleep(seconds)
            await self.call("Page.navigateToHistoryEntry", {"entryId": entry})
        else:
            raise ValueError(f"unknown DevTools action {action!r}")

    def close(self) -> None:
        async def shut() -> None:
            if self.ws is not None:
                await self.ws.close()
            if self.reader is not None:
                await asyncio.wait({self.reader}, timeout=5)

        try:
            self.run(shut(), 10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)
            self.loop.close()


class PageSite(Site):
    """The suite's HTTP side plus /away (a page to navigate to) and /devtools (actions the
    page asks the DevTools client to take). The page may be cached (back/forward cache)."""

    cache_control = None

    def __init__(self, pyodide_dir: Path, files: dict[str, str], env: dict[str, str]) -> None:
        super().__init__(pyodide_dir, files, env, page=PAGE)
        self.routes["/away"] = (AWAY, TYPES[".html"])
        self.devtools: DevTools | None = None
        self.devtools_ready = threading.Event()
        self.base = ""
        self.actions: list[Any] = []

    def post(self, path: str, data: dict[str, Any]) -> int:
        if path == "/devtools":
            return self.devtools_action(data)
        if path == "/results" and self.results is not None:
            return 204  # the first results stand
        return super().post(path, data)

    def devtools_action(self, data: dict[str, Any]) -> int:
        if not self.devtools_ready.wait(30) or self.devtools is None:
            return 503
        act = self.devtools.act(str(data["action"]), float(data.get("seconds", 1)), self.base)
        self.actions.append(asyncio.run_coroutine_threadsafe(act, self.devtools.loop))
        return 204


def _page_target(profile: Path, page_url: str, deadline: float) -> str:
    port_file = profile / "DevToolsActivePort"
    while time.monotonic() < deadline:
        if port_file.is_file() and port_file.read_text().strip():
            port = port_file.read_text().split()[0]
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as r:
                for target in json.load(r):
                    if target.get("type") == "page" and target["url"].startswith(page_url):
                        return str(target["webSocketDebuggerUrl"])
        time.sleep(0.1)
    raise AssertionError("Chromium's DevTools endpoint did not show the page")


def run_page_suite(
    env: dict[str, str], src: Path, suite: Path, pyodide_dir: Path, tmp: Path, hint: str
) -> dict[str, Any]:
    """Load the page in headless Chromium with DevTools; return what it POSTed to /results."""
    if not (CHROMIUM.is_file() and CHROMIUM.stat().st_mode & 0o111):
        pytest.fail(f"{CHROMIUM} is missing: {hint}")
    files = source_files(src, suite)
    files["omniws_page_devtools.py"] = (suite.parent / "suite_page_devtools.py").read_text()
    site = PageSite(pyodide_dir, files, env)
    server = ThreadingHTTPServer(("127.0.0.1", 0), site.handler())
    thread = threading.Thread(target=server.serve_forever, name="page-http", daemon=True)
    thread.start()
    site.base = url = f"http://127.0.0.1:{server.server_address[1]}/"
    started = time.monotonic()
    devtools: DevTools | None = None
    try:
        with (
            tempfile.TemporaryDirectory(prefix="omniws-page-") as profile,
            (tmp / "chromium.log").open("wb") as log,
        ):
            argv = [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}"]
            argv += ["--remote-debugging-port=0", url]
            proc = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            try:
                target = _page_target(Path(profile), url, started + 60)
                site.devtools = devtools = DevTools(target)
                devtools.start()
                site.devtools_ready.set()
                for _ in range(int(RESULTS_TIMEOUT / 0.1)):
                    if site.done.wait(0.1) or proc.poll() is not None:
                        break
            finally:
                if devtools is not None:
                    devtools.close()
                stop_process(proc)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
    events = [e for e in (devtools.events if devtools else []) if "backForward" in e["method"]]
    if site.results is None:
        chromium_log = (tmp / "chromium.log").read_text(errors="replace")[-3000:]
        page_log = "\n".join(site.log[-50:])
        pytest.fail(
            f"Chromium posted no results within {RESULTS_TIMEOUT:g} s.\npage log:\n{page_log}"
            f"\nbfcache events: {events}\nchromium log:\n{chromium_log}"
        )
    results = site.results
    results["total_seconds"] = time.monotonic() - started
    results["log"] = "\n".join(site.log[-50:])
    results["bfcache_events"] = events
    results["devtools_errors"] = [
        repr(f.exception()) for f in site.actions if f.done() and f.exception() is not None
    ]
    return results
