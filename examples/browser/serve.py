"""Serve the Pyodide example page and an echo server, on 127.0.0.1 only.

    python examples/browser/serve.py [--port 8000] [--ws-port 8765] [--chaos]
        [--pyodide tests/wasm/node_modules/pyodide] [--wheel dist/omniws-...-py3-none-any.whl]

Then open http://127.0.0.1:8000/ in a browser. The page loads Pyodide from /pyodide/ (the npm
``pyodide`` package, installed by scripts/setup-wasm.sh) and omniws' pure wheel from /dist/
with ``pyodide.loadPackage``: the wheel scripts/wheel builds, which this server builds (runs
scripts/wheel) when dist/ has none for this checkout's version or src/ changed since.
The page talks to the echo server at ws://127.0.0.1:8765/. ``--chaos`` makes the echo server
drop connections and go away now and then, to watch the client reconnect. Ctrl-C stops both.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "src"))  # the checkout's omniws, for the echo server

from omniws._version import __version__  # noqa: E402
from omniws.cli.demo_server import EchoServer, chaos, start_echo_server  # noqa: E402

TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".wasm": "application/wasm",
    ".json": "application/json",
    ".zip": "application/zip",
    ".whl": "application/zip",
}
WHEEL_PLACEHOLDER = b"/dist/OMNIWS_WHEEL"  # in index.html: the wheel's URL, filled in here
# the browser went away mid-answer (a tab closed while Pyodide downloads): not our error
GONE = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


class Stop(Exception):
    """Ends the server with a one-line message and exit status 1."""


def _newest_source() -> float:
    sources = [ROOT / "pyproject.toml", ROOT / "setup.py"]
    sources += [p for p in (ROOT / "src" / "omniws").rglob("*") if "__pycache__" not in p.parts]
    return max(p.stat().st_mtime for p in sources if p.is_file() and p.suffix != ".so")


def pure_wheel(given: Path | None) -> Path:
    """The wheel to serve: ``given``, or dist/'s for this version, built when missing or stale."""
    if given is not None:
        if not given.is_file() or not given.name.endswith("-py3-none-any.whl"):
            raise Stop(f"--wheel {given}: not a pure wheel file (build one with scripts/wheel)")
        return given
    wheel = ROOT / "dist" / f"omniws-{__version__}-py3-none-any.whl"
    if wheel.is_file() and wheel.stat().st_mtime >= _newest_source():
        return wheel
    print(f"building {wheel.relative_to(ROOT)} (scripts/wheel)...", flush=True)
    build = subprocess.run(  # noqa: S603 - our own script, fixed arguments
        ["bash", str(ROOT / "scripts" / "wheel")],  # noqa: S607 - bash from PATH, as a user runs it
        capture_output=True,
        text=True,
        check=False,
    )
    if build.returncode != 0 or not wheel.is_file():
        sys.stderr.write(build.stderr[-3000:])
        raise Stop(f"scripts/wheel failed (exit status {build.returncode}); its output is above")
    return wheel


def make_handler(pyodide_dir: Path, wheel: Path) -> type[BaseHTTPRequestHandler]:
    wheel_url = f"/dist/{wheel.name}"
    page = (HERE / "index.html").read_bytes().replace(WHEEL_PLACEHOLDER, wheel_url.encode())
    routes = {"/": (page, TYPES[".html"]), wheel_url: (wheel.read_bytes(), TYPES[".whl"])}

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


class HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, GONE):  # one line instead of a traceback
            sys.stderr.write(f"http: {client_address[0]} went away mid-answer ({error})\n")
        else:
            super().handle_error(request, client_address)


def _port_error(what: str, port: int, flag: str, error: OSError) -> Stop:
    if error.errno == errno.EADDRINUSE:
        return Stop(
            f"port {port} ({what}) is in use, by another serve.py perhaps: stop that, "
            f"or pass {flag} with a free port"
        )
    return Stop(f"cannot listen on 127.0.0.1:{port} ({what}): {error.strerror or error}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000, help="HTTP port of the page")
    parser.add_argument("--ws-port", type=int, default=8765, help="port of the echo server")
    parser.add_argument("--chaos", action="store_true", help="drop connections now and then")
    parser.add_argument("--pyodide", type=Path, default=ROOT / "tests/wasm/node_modules/pyodide")
    parser.add_argument("--wheel", type=Path, help="omniws wheel to serve (default: dist/'s)")
    args = parser.parse_args()
    pyodide_dir = args.pyodide.resolve()
    if not (pyodide_dir / "pyodide.js").is_file():
        raise Stop(f"no Pyodide in {pyodide_dir}: run scripts/setup-wasm.sh (or pass --pyodide)")

    try:  # both ports first: a busy port is reported before anything slow happens
        http = HTTPServer(("127.0.0.1", args.port), BaseHTTPRequestHandler)
    except OSError as error:
        raise _port_error("the page", args.port, "--port", error) from None
    echo: EchoServer | None = None
    serving = False
    try:
        try:
            echo = await start_echo_server("127.0.0.1", args.ws_port)
        except OSError as error:
            raise _port_error("the echo server", args.ws_port, "--ws-port", error) from None
        wheel = await asyncio.to_thread(pure_wheel, args.wheel)
        http.RequestHandlerClass = make_handler(pyodide_dir, wheel.resolve())
        threading.Thread(target=http.serve_forever, daemon=True).start()
        serving = True
        print(f"echo server: {echo.url}", flush=True)
        print(f"omniws wheel: {wheel}", flush=True)
        print(f"open http://127.0.0.1:{http.server_address[1]}/ (Ctrl-C stops)", flush=True)
        if args.chaos:
            await chaos(echo, print, interval=5.0)
        else:
            await asyncio.Event().wait()
    finally:
        if serving:
            http.shutdown()  # waits for serve_forever to end: only once it has started
        http.server_close()
        if echo is not None:
            await echo.close()


def run() -> int:
    """Run the servers; a problem the user can fix is one line on stderr and exit status 1."""
    try:
        asyncio.run(main())
    except Stop as stop:
        print(f"serve.py: {stop}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C: a normal way to stop
        pass
    return 0


if __name__ == "__main__":
    sys.exit(run())
