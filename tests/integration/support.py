"""Helpers of the integration tests: server processes, raw TCP servers, frame bytes.

Everything here is bounded in time: servers are polled for a fixed number of tries,
stopped by PID with a terminate -> kill escalation, and raw servers cancel their
connection tasks on stop.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import os
import signal
import socket
import struct
import subprocess
import time
from collections.abc import AsyncIterable, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from websockets.asyncio.client import connect as ws_connect

HERE = Path(__file__).resolve().parent
PY_SERVER = HERE / "servers" / "py_server.py"
NODE_DIR = HERE.parent / "node"
NODE_SERVER = NODE_DIR / "server.js"

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
FRAGMENTS = ("frag-one|", "frag-two|", "frag-three")  # py_server.FRAGMENTS
DEFAULT_TIMEOUT = 10.0


def pattern(size: int) -> bytes:
    """The payload of the servers' ``/send?size=N`` route."""
    unit = bytes(range(256))
    return (unit * (size // 256 + 1))[:size]


def free_port(host: str = "127.0.0.1") -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def ipv6_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


class ServerProcess:
    """A test server in a child process, waited for by polling its port, stopped by PID."""

    def __init__(self, name: str, argv: Sequence[str], host: str, port: int, log: Path) -> None:
        self.name = name
        self.argv = list(argv)
        self.host = host
        self.port = port
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, *, tries: int = 200, interval: float = 0.05) -> None:
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                self.argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        for _ in range(tries):  # bounded: tries * interval seconds at most (plus connects)
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} server exited with {self.proc.returncode} before listening:\n"
                    f"{self.log_tail()}"
                )
            if self._port_open():
                return
            time.sleep(interval)
        self.stop()
        raise RuntimeError(
            f"{self.name} server did not listen on {self.host}:{self.port} within "
            f"{tries * interval:g} s:\n{self.log_tail()}"
        )

    def _port_open(self) -> bool:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.5)
            try:
                sock.connect((self.host, self.port))
            except OSError:
                return False
            return True

    def stop(self) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)

    def log_tail(self, size: int = 4000) -> str:
        try:
            return self.log.read_text(errors="replace")[-size:]
        except OSError:
            return "(no log)"

    @property
    def url(self) -> str:
        return base_url("ws", self.host, self.port)


def base_url(scheme: str, host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}:{port}"


async def server_report(
    base: str, record_id: str, *, tries: int = 200, deadline: float = DEFAULT_TIMEOUT
) -> dict[str, Any]:
    """How the server saw the ``/record?id=...`` connection close (polled, bounded).

    Uses the `websockets` client, so that the answer does not depend on omniws. The
    `websockets` server may take up to its close_timeout (2 s) to finish a handler.
    """
    end = time.monotonic() + deadline
    for _ in range(tries):
        if time.monotonic() > end:
            break
        async with ws_connect(f"{base}/report?id={record_id}", open_timeout=5) as ws:
            raw = await asyncio.wait_for(ws.recv(), DEFAULT_TIMEOUT)
        report: dict[str, Any] = json.loads(raw)
        if report:
            return report
        await asyncio.sleep(0.05)
    raise AssertionError(f"the server recorded no close for {record_id!r} in time")


# ---------------------------------------------------------------- raw frames


def frame(
    opcode: int,
    payload: bytes = b"",
    *,
    fin: bool = True,
    rsv: int = 0,
    mask: bytes | None = None,
    length: int | None = None,
) -> bytes:
    """One WebSocket frame as a server would (mis)send it. ``length`` may lie."""
    size = len(payload) if length is None else length
    first = (0x80 if fin else 0) | (rsv << 4) | opcode
    mask_bit = 0x80 if mask is not None else 0
    if size < 126:
        header = struct.pack("!BB", first, mask_bit | size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", first, mask_bit | 126, size)
    else:
        header = struct.pack("!BBQ", first, mask_bit | 127, size)
    if mask is not None:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        return header + mask + payload
    return header + payload


def accept_key(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


class ClientFrame:
    def __init__(self, fin: bool, opcode: int, payload: bytes, masked: bool) -> None:
        self.fin = fin
        self.opcode = opcode
        self.payload = payload
        self.masked = masked

    @property
    def close_code(self) -> int | None:
        return struct.unpack("!H", self.payload[:2])[0] if len(self.payload) >= 2 else None


async def read_client_frame(reader: asyncio.StreamReader) -> ClientFrame:
    head = await reader.readexactly(2)
    fin, opcode = bool(head[0] & 0x80), head[0] & 0x0F
    masked, size = bool(head[1] & 0x80), head[1] & 0x7F
    if size == 126:
        size = struct.unpack("!H", await reader.readexactly(2))[0]
    elif size == 127:
        size = struct.unpack("!Q", await reader.readexactly(8))[0]
    key = await reader.readexactly(4) if masked else b"\0\0\0\0"
    data = await reader.readexactly(size)
    payload = bytes(b ^ key[i % 4] for i, b in enumerate(data)) if masked else data
    return ClientFrame(fin, opcode, payload, masked)


# ---------------------------------------------------------------- raw servers

Behaviour = Callable[["RawServer", asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class RawServer:
    """An asyncio TCP server in the test's own loop, running ``behaviour`` per connection."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.server: asyncio.Server | None = None
        self.tasks: set[asyncio.Task[None]] = set()
        self.writers: set[asyncio.StreamWriter] = set()
        self.requests: list[bytes] = []
        self.client_frames: list[ClientFrame] = []
        self.done = asyncio.Event()  # set when a connection's behaviour ended
        self.connections = 0
        self.host = "127.0.0.1"
        self.port = 0

    async def start(self, host: str = "127.0.0.1") -> RawServer:
        self.server = await asyncio.start_server(self._serve, host, 0)
        self.host = host
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    @property
    def url(self) -> str:
        return base_url("ws", self.host, self.port)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        self.writers.add(writer)
        self.connections += 1
        try:
            await self.behaviour(self, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()
            self.writers.discard(writer)
            self.done.set()

    async def stop(self) -> None:
        for writer in list(self.writers):
            writer.close()
        for task in list(self.tasks):
            task.cancel()
        if self.tasks:
            await asyncio.wait(self.tasks, timeout=5)
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.server.wait_closed(), 5)

    # --- behaviours -----------------------------------------------------------

    @staticmethod
    async def silent(
        server: RawServer, reader: asyncio.StreamReader, _w: asyncio.StreamWriter
    ) -> None:
        """Accept, read whatever comes, never answer (until the client or the test ends)."""
        for _ in range(10_000):  # bounded; each read blocks until data or EOF
            data = await reader.read(65536)
            if not data:
                return
            server.requests.append(data)

    @staticmethod
    def handshake_then(
        payload: bytes, *, extra_headers: str = "", hang_up: bool = False
    ) -> Behaviour:
        """Answer the opening handshake correctly, then write ``payload`` as is.

        Afterwards read the client's frames; on its close frame, echo the close and
        hang up, as a well-behaved server would. With ``hang_up``, drop the TCP
        connection right after ``payload`` instead (no closing handshake).
        """

        async def behaviour(
            server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
        ) -> None:
            request = await reader.readuntil(b"\r\n\r\n")
            server.requests.append(request)
            key = ""
            for line in request.decode("latin-1").split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "sec-websocket-key":
                    key = value.strip()
            writer.write(
                (
                    "HTTP/1.1 101 Switching Protocols\r\n"
                    "Upgrade: websocket\r\n"
                    "Connection: Upgrade\r\n"
                    f"Sec-WebSocket-Accept: {accept_key(key)}\r\n"
                    f"{extra_headers}"
                    "\r\n"
                ).encode("latin-1")
            )
            writer.write(payload)
            with contextlib.suppress(ConnectionError):
                await writer.drain()
            if hang_up:
                return
            for _ in range(1000):  # bounded number of client frames
                try:
                    client_frame = await read_client_frame(reader)
                except (asyncio.IncompleteReadError, ConnectionError):
                    break
                server.client_frames.append(client_frame)
                if client_frame.opcode == 0x8:
                    writer.write(frame(0x8, client_frame.payload))
                    with contextlib.suppress(ConnectionError):
                        await writer.drain()
                    break

        return behaviour

    def client_close_frames(self) -> list[ClientFrame]:
        return [f for f in self.client_frames if f.opcode == 0x8]


# ---------------------------------------------------------------- omniws helpers


class Receiver(Protocol):
    async def recv(self) -> str | bytes: ...


async def recv(ws: Receiver, timeout: float = DEFAULT_TIMEOUT) -> str | bytes:
    """``ws.recv()`` bounded in time, so that a hang fails the test instead of the run."""
    return await asyncio.wait_for(ws.recv(), timeout)


async def collect(
    ws: AsyncIterable[str | bytes], timeout: float = DEFAULT_TIMEOUT
) -> list[str | bytes]:
    """Run ``async for`` over ``ws`` to its end, bounded in time."""

    async def run() -> list[str | bytes]:
        return [message async for message in ws]

    return await asyncio.wait_for(run(), timeout)
