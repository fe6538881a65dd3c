"""Run the Pyodide suite once in Debian's headless Chromium, without a driver.

A small HTTP server on 127.0.0.1 (a thread of the pytest process) serves browser/runner.html,
the files of the npm ``pyodide`` package, the omniws sources and the suite (as one JSON
object) and the servers' URLs; the page POSTs its results back to ``/results``. Chromium is
started with a fresh profile, waited for (bounded) and stopped by PID.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
PAGE = Path(__file__).resolve().parent / "browser" / "runner.html"
RESULTS_TIMEOUT = 240.0  # seconds for loading Pyodide and the whole suite
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--enable-logging=stderr",
    "--v=0",
]
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".wasm": "application/wasm",
    ".json": "application/json",
    ".zip": "application/zip",
    ".map": "application/json",
}


def source_files(src: Path, suite: Path) -> dict[str, str]:
    """{path in Pyodide's FS: text}: every module of omniws, and the suite."""
    files = {
        str(path.relative_to(src)): path.read_text()
        for path in sorted((src / "omniws").rglob("*.py"))
        if "__pycache__" not in path.parts
    }
    files["omniws_wasm_suite.py"] = suite.read_text()
    return files


class Site:
    """The HTTP side of a Chromium run: the page, the sources, and what the page POSTs back
    (``/results``, ``/log`` lines). Subclasses add routes and POST actions."""

    cache_control: str | None = "no-store"  # None: let the browser cache the page

    def __init__(
        self, pyodide_dir: Path, files: dict[str, str], env: dict[str, str], page: Path = PAGE
    ) -> None:
        self.pyodide_dir = pyodide_dir.resolve()
        self.routes: dict[str, tuple[bytes, str]] = {
            "/": (page.read_bytes(), TYPES[".html"]),
            "/files.json": (json.dumps(files).encode(), TYPES[".json"]),
            "/env.json": (json.dumps(env).encode(), TYPES[".json"]),
        }
        self.results: dict[str, Any] | None = None
        self.done = threading.Event()
        self.log: list[str] = []

    def post(self, path: str, data: dict[str, Any]) -> int:
        """Take a POST from the page; return the HTTP status."""
        if path == "/results":
            self.results = data
            self.done.set()
        elif path == "/log" and len(self.log) < 10_000:
            self.log.append(str(data.get("line", "")))
        return 204

    def handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                body_type = site.routes.get(path)
                if body_type is None and path.startswith("/pyodide/"):
                    file = (site.pyodide_dir / path.removeprefix("/pyodide/")).resolve()
                    if file.parent == site.pyodide_dir and file.is_file():
                        body_type = (file.read_bytes(), TYPES.get(file.suffix, "text/plain"))
                if body_type is None:
                    self.send_error(404)
                    return
                body, content_type = body_type
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                if site.cache_control is not None:
                    self.send_header("Cache-Control", site.cache_control)
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                size = int(self.headers.get("Content-Length", "0"))
                status = site.post(self.path, json.loads(self.rfile.read(size) or b"{}"))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        return Handler


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM Chromium, then SIGKILL its process group (it was started in its own session)."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    # renderer/GPU/zygote children left behind, if any: their group id is Chromium's pid
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def run_in_chromium(
    env: dict[str, str], src: Path, suite: Path, pyodide_dir: Path, tmp: Path, hint: str
) -> dict[str, Any]:
    """Load the page in headless Chromium and return what it POSTed to /results."""
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(f"{CHROMIUM} is missing: {hint}")
    site = Site(pyodide_dir, source_files(src, suite), env)
    server = ThreadingHTTPServer(("127.0.0.1", 0), site.handler())
    thread = threading.Thread(target=server.serve_forever, name="wasm-http", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    log_file = tmp / "chromium.log"
    started = time.monotonic()
    try:
        with (
            tempfile.TemporaryDirectory(prefix="omniws-chromium-") as profile,
            log_file.open("wb") as log,
        ):
            argv = [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", url]
            proc = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            try:
                for _ in range(int(RESULTS_TIMEOUT / 0.1)):  # bounded wait for the POST
                    if site.done.wait(0.1) or proc.poll() is not None:
                        break
            finally:
                stop_process(proc)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
    page_log = "\n".join(site.log[-50:])
    if site.results is None:
        chromium_log = log_file.read_text(errors="replace")[-3000:]
        pytest.fail(
            f"Chromium posted no results within {RESULTS_TIMEOUT:g} s (exit code "
            f"{proc.returncode}).\npage log:\n{page_log}\nchromium log:\n{chromium_log}"
        )
    results = site.results
    results["total_seconds"] = time.monotonic() - started
    results["log"] = page_log
    return results
