"""Serve the Pyodide example page and an echo server, on 127.0.0.1 only.

    python examples/browser/serve.py [--port 8000] [--ws-port 8765] [--chaos]
        [--pyodide tests/wasm/node_modules/pyodide]

Then open http://127.0.0.1:8000/ in a browser. The page loads Pyodide from /pyodide/ (the npm
``pyodide`` package, installed by scripts/setup-wasm.sh), omniws from /omniws.zip (built from
src/omniws at start-up) and talks to the echo server at ws://127.0.0.1:8765/. ``--chaos``
makes the echo server drop connections and go away now and then, to watch the client
reconnect. Ctrl-C stops both servers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import sys
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "src"))  # the checkout's omniws, for the echo server

from omniws.cli.demo_server import chaos, start_echo_server  # noqa: E402

TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".wasm": "application/wasm",
    ".json": "application/json",
    ".zip": "application/zip",
}


def omniws_zip() -> bytes:
    """src/omniws as a zip archive (what a wheel holds, minus its metadata)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted((ROOT / "src" / "omniws").rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, path.relative_to(ROOT / "src").as_posix())
    return buffer.getvalue()


def make_handler(pyodide_dir: Path) -> type[BaseHTTPRequestHandler]:
    routes = {
        "/": ((HERE / "index.html").read_bytes(), TYPES[".html"]),
        "/omniws.zip": (omniws_zip(), TYPES[".zip"]),
    }

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            sys.stderr.write(f"http: {format % args}\n")

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            found = routes.get(path)
            if found is None and path.startswith("/pyodide/"):
                file = (pyodide_dir / path.removeprefix("/pyodide/")).resolve()
                if file.parent == pyodide_dir and file.is_file():
                    found = (file.read_bytes(), TYPES.get(file.suffix, "text/plain"))
            if found is None:
                self.send_error(404)
                return
            body, content_type = found
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000, help="HTTP port of the page")
    parser.add_argument("--ws-port", type=int, default=8765, help="port of the echo server")
    parser.add_argument("--chaos", action="store_true", help="drop connections now and then")
    parser.add_argument("--pyodide", type=Path, default=ROOT / "tests/wasm/node_modules/pyodide")
    args = parser.parse_args()
    pyodide_dir = args.pyodide.resolve()
    if not (pyodide_dir / "pyodide.js").is_file():
        sys.exit(f"no Pyodide in {pyodide_dir}: run scripts/setup-wasm.sh (or pass --pyodide)")

    echo = await start_echo_server("127.0.0.1", args.ws_port)
    http = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(pyodide_dir))
    threading.Thread(target=http.serve_forever, daemon=True).start()
    print(f"echo server: {echo.url}", flush=True)
    print(f"open http://127.0.0.1:{http.server_address[1]}/ (Ctrl-C stops)", flush=True)
    try:
        if args.chaos:
            await chaos(echo, print, interval=5.0)
        else:
            await asyncio.Event().wait()
    finally:
        http.shutdown()
        await echo.close()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: a normal way to stop
        asyncio.run(main())
