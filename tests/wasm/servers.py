"""The servers the Pyodide suite talks to, all on 127.0.0.1, started once per pytest session.

- ``echo``: tests/integration/servers/py_server.py (``/echo``, ``/close``, ``/subprotocol``,
  ``/send``, ``/record``, ``/report``, ``/headers``, ``/status/401``) in a child process.
- ``restart``: a second py_server.py process that ``/control`` kills (SIGKILL: a crash) and
  starts again on the same port.
- ``harness``: a `websockets` server in a thread of the pytest process: ``/silent`` accepts and
  then never sends anything; ``/control`` answers "restart" with "restarted" once the
  ``restart`` server is back.
- ``hang``: a TCP server that accepts and never answers the opening handshake.
- ``refused``: a port that was free a moment ago (nothing listens: connection refused).

Everything is bounded in time and stopped by PID (processes) or by closing (the thread).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from websockets.asyncio.server import ServerConnection, serve

HERE = Path(__file__).resolve().parent
PY_SERVER = HERE.parent / "integration" / "servers" / "py_server.py"
RESTART_DOWN_TIME = 0.3  # seconds the restarted server stays away


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class PyServer:
    """A server in a child process on a fixed port (py_server.py unless ``argv`` says
    otherwise); can be killed and started again."""

    def __init__(self, port: int, log: Path, argv: list[str] | None = None) -> None:
        self.port = port
        self.log = log
        self.argv = argv or [
            sys.executable,
            str(PY_SERVER),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ]
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, tries: int = 200, interval: float = 0.05) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.argv, stdout=out, stderr=out, stdin=subprocess.DEVNULL
            )
        for _ in range(tries):  # bounded: about tries * interval seconds
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.argv[1]} exited early; see {self.log}")
            if _port_open(self.port):
                return
            time.sleep(interval)
        self.stop()
        raise RuntimeError(f"{self.argv[1]} did not listen on port {self.port}; see {self.log}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        os.kill(proc.pid, sig)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)

    def restart(self) -> None:
        self.stop(signal.SIGKILL)  # a crash: no close frames
        time.sleep(RESTART_DOWN_TIME)
        self.start()


class Servers:
    """All the suite's servers; ``env`` is what the suite gets (see tests/wasm/suite.py)."""

    def __init__(self, tmp: Path) -> None:
        self.echo = PyServer(free_port(), tmp / "echo_server.log")
        self.restartable = PyServer(free_port(), tmp / "restart_server.log")
        self.harness_port = free_port()
        self.hang_port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Future[None] | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._restart_lock = threading.Lock()
        self.env: dict[str, str] = {}

    def start(self) -> dict[str, str]:
        self.echo.start()
        self.restartable.start()
        self._thread = threading.Thread(target=self._run, name="wasm-test-servers", daemon=True)
        self._thread.start()
        if not self._ready.wait(20) or self._error is not None:
            raise RuntimeError(f"the harness servers did not start: {self._error!r}")
        self.env = {
            "echo": f"ws://127.0.0.1:{self.echo.port}",
            "restart": f"ws://127.0.0.1:{self.restartable.port}",
            "harness": f"ws://127.0.0.1:{self.harness_port}",
            "hang": f"ws://127.0.0.1:{self.hang_port}/",
            "refused": f"ws://127.0.0.1:{free_port()}/",
        }
        return self.env

    def stop(self) -> None:
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(lambda: stop.done() or stop.set_result(None))
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.echo.stop()
        self.restartable.stop()

    # ---- the thread -----------------------------------------------------------------------
    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported by start()
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._stop = loop.create_future()
        hang_clients: set[asyncio.StreamWriter] = set()

        async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            hang_clients.add(writer)
            try:
                for _ in range(1000):  # bounded; each read waits for data or EOF
                    if not await reader.read(65536):
                        break
            finally:
                hang_clients.discard(writer)
                writer.close()

        hang_server = await asyncio.start_server(hang, "127.0.0.1", 0)
        self.hang_port = hang_server.sockets[0].getsockname()[1]
        async with serve(
            self._handler, "127.0.0.1", self.harness_port, ping_interval=None, close_timeout=1
        ):
            self._ready.set()
            await self._stop
        for writer in list(hang_clients):
            writer.close()
        hang_server.close()

    async def _handler(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        path = ws.request.path.split("?")[0]
        if path == "/silent":  # accept, read nothing, send nothing, until the client leaves
            await ws.wait_closed()
        elif path == "/control":
            async for message in ws:
                if message == "restart":
                    await asyncio.get_running_loop().run_in_executor(None, self._restart)
                    await ws.send("restarted")
                else:
                    await ws.send(f"unknown command {message!r}")
        else:
            await ws.close(4404, f"no route {path}")

    def _restart(self) -> None:
        with self._restart_lock:
            self.restartable.restart()
