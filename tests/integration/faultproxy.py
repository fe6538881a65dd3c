"""A TCP fault proxy for the client fault tests, and small in-loop WebSocket servers.

:class:`FaultProxy` listens on 127.0.0.1 and forwards every accepted connection to an
upstream ``(host, port)``. The test controls it from its own event loop:

- ``await proxy.drop_all(rst=True)``: cut every forwarded connection now, both sides (an RST
  with ``rst``, else a FIN);
- ``proxy.stall("both" | "up" | "down")`` / ``proxy.resume()``: stop forwarding in one or
  both directions without closing anything (``up`` is client -> server);
- ``proxy.refuse = True``: accept new connections and close them at once;
- ``await proxy.stop()`` / ``await proxy.start()``: stop listening (connections are then
  refused by the kernel) and listen again, on the same port.

Buffers are bounded: the proxy holds at most one read chunk per direction and stops reading
from a side (``pause_reading``) while the other side's write buffer is full or while that
direction is stalled, so a stalled peer fills kernel buffers, not the proxy's memory.

:class:`RecordingServer` is a `websockets` server in the test's loop that records what each
connection received and can be stopped and started again on the same port.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Literal

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

Direction = Literal["up", "down", "both"]

_HIGH_WATER = 256 * 1024  # write buffer above which the other side stops being read


class _Side(asyncio.Protocol):
    """One end of a forwarded connection: what it reads goes to ``peer``'s transport."""

    def __init__(self, pair: _Pair, direction: Literal["up", "down"]) -> None:
        self.pair = pair
        self.direction = direction  # the direction of the bytes this side reads
        self.transport: asyncio.Transport | None = None
        self.peer: _Side | None = None
        self.held = b""  # at most one chunk, read while stalled
        self.eof = False  # this side sent FIN: forward it after the held bytes
        self.peer_full = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.set_write_buffer_limits(high=_HIGH_WATER)

    def data_received(self, data: bytes) -> None:
        peer = self.peer
        if peer is None or peer.transport is None or self.pair.proxy.stalled(self.direction):
            self.held += data
            self._update_reading()
            return
        peer.transport.write(data)
        self.pair.proxy.bytes_forwarded[self.direction] += len(data)

    def eof_received(self) -> bool | None:
        self.eof = True
        self.flush()
        return True  # keep our half open until the pair ends

    def connection_lost(self, exc: Exception | None) -> None:
        self.pair.close(rst=False)

    # the peer's write buffer is full: stop reading from this side
    def pause_writing(self) -> None:
        if self.peer is not None:
            self.peer.peer_full = True
            self.peer._update_reading()

    def resume_writing(self) -> None:
        if self.peer is not None:
            self.peer.peer_full = False
            self.peer._update_reading()

    def flush(self) -> None:
        """Forward what was held back, if the direction is open again."""
        peer = self.peer
        if (
            self.held
            and peer is not None
            and peer.transport is not None
            and not self.pair.proxy.stalled(self.direction)
        ):
            data, self.held = self.held, b""
            peer.transport.write(data)
            self.pair.proxy.bytes_forwarded[self.direction] += len(data)
        if (
            self.eof
            and not self.held
            and peer is not None
            and peer.transport is not None
            and not peer.transport.is_closing()
            and peer.transport.can_write_eof()
        ):
            self.eof = False
            peer.transport.write_eof()
        self._update_reading()

    def _update_reading(self) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        stop = bool(self.held) or self.peer_full or self.pair.proxy.stalled(self.direction)
        if stop and transport.is_reading():
            transport.pause_reading()
        elif not stop and not transport.is_reading():
            transport.resume_reading()


class _Pair:
    """A client connection and its upstream connection."""

    def __init__(self, proxy: FaultProxy) -> None:
        self.proxy = proxy
        self.client = _Side(self, "up")
        self.server = _Side(self, "down")
        self.closed = False

    def link(self) -> None:
        self.client.peer, self.server.peer = self.server, self.client
        self.client.flush()
        self.server.flush()

    def close(self, *, rst: bool) -> None:
        if self.closed:
            return
        self.closed = True
        self.proxy.pairs.discard(self)
        for side in (self.client, self.server):
            transport = side.transport
            if transport is None or transport.is_closing():
                continue
            if rst:
                sock = transport.get_extra_info("socket")
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.setsockopt(
                            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                        )
                transport.abort()
            else:
                transport.close()


class FaultProxy:
    """A controllable TCP proxy on 127.0.0.1 in front of ``upstream`` (see the module doc)."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.host = "127.0.0.1"
        self.port = 0
        self.refuse = False
        self.accepted = 0  # connections accepted over the proxy's whole life
        self.pairs: set[_Pair] = set()
        self.bytes_forwarded = {"up": 0, "down": 0}
        self._stalled: set[str] = set()
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    @property
    def listening(self) -> bool:
        return self._server is not None

    def stalled(self, direction: str) -> bool:
        return direction in self._stalled

    async def start(self) -> FaultProxy:
        """Listen (again): on a new port the first time, then on the same port."""
        if self._server is not None:
            return self
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._accept, self.host, self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self, *, drop: bool = True) -> None:
        """Stop listening (new connections are refused); with ``drop`` also cut the
        forwarded ones (RST)."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        if drop:
            await self.drop_all(rst=True)
        if server is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(server.wait_closed(), 5)

    async def close(self) -> None:
        """Stop everything; for fixtures' teardown."""
        await self.stop(drop=True)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)

    async def drop_all(self, *, rst: bool = True) -> int:
        """Cut every forwarded connection now; returns how many were cut."""
        pairs = list(self.pairs)
        for pair in pairs:
            pair.close(rst=rst)
        await asyncio.sleep(0)  # let connection_lost callbacks run
        return len(pairs)

    def stall(self, direction: Direction = "both") -> None:
        """Stop forwarding in ``direction`` on every connection, current and new."""
        self._stalled.update(("up", "down") if direction == "both" else (direction,))
        for pair in list(self.pairs):
            pair.client.flush()
            pair.server.flush()

    def resume(self) -> None:
        """Forward in both directions again (held bytes go out)."""
        self._stalled.clear()
        for pair in list(self.pairs):
            pair.client.flush()
            pair.server.flush()

    def _accept(self) -> asyncio.Protocol:
        pair = _Pair(self)
        self.accepted += 1
        if self.refuse:
            pair.closed = True
            return _Refuser()
        self.pairs.add(pair)
        task = asyncio.get_running_loop().create_task(self._connect_upstream(pair))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return pair.client

    async def _connect_upstream(self, pair: _Pair) -> None:
        loop = asyncio.get_running_loop()
        try:
            await asyncio.wait_for(loop.create_connection(lambda: pair.server, *self.upstream), 5)
        except (OSError, asyncio.TimeoutError):
            pair.close(rst=True)
            return
        if pair.closed:  # dropped while connecting
            pair.closed = False
            pair.close(rst=True)
            return
        pair.link()


class _Refuser(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.close()


# ---------------------------------------------------------------- in-loop servers

Handler = Callable[["RecordingServer", ServerConnection], Awaitable[None]]
Rejection = tuple[int, dict[str, str]]


class RecordingServer:
    """A `websockets` server in the test's loop. Every connection's text messages are
    recorded in ``connections[i]`` (one list per accepted connection, in order), and
    ``handler`` decides what to answer (default: echo). ``rejections`` is a queue of
    ``(status, headers)`` answers to the next handshakes; ``requests`` the loop times of
    every handshake request. ``stop()``/``start()`` restart it on the same port."""

    def __init__(self, handler: Handler | None = None) -> None:
        self.handler = handler or RecordingServer.echo
        self.connections: list[list[str | bytes]] = []
        self.rejections: list[Rejection] = []
        self.requests: list[float] = []
        self.live: set[ServerConnection] = set()
        self.port = 0
        self._server: Server | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def received(self) -> list[str | bytes]:
        return [message for conn in self.connections for message in conn]

    async def start(self) -> RecordingServer:
        if self._server is not None:
            return self
        self._server = await serve(
            self._serve,
            "127.0.0.1",
            self.port,
            process_request=self._process_request,
            compression=None,
            ping_interval=None,
            close_timeout=1,
            reuse_address=True,
        )
        self.port = next(iter(self._server.sockets)).getsockname()[1]
        return self

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()  # sends 1001 to every connection
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(server.wait_closed(), 5)

    def _process_request(self, conn: ServerConnection, request: Request) -> Response | None:
        self.requests.append(asyncio.get_running_loop().time())
        if not self.rejections:
            return None
        status, headers = self.rejections.pop(0)
        response = conn.respond(status, f"{HTTPStatus(status).phrase}\n")
        for name, value in headers.items():
            response.headers[name] = value
        return response

    async def _serve(self, ws: ServerConnection) -> None:
        self.connections.append([])
        self.live.add(ws)
        try:
            await self.handler(self, ws)
        except ConnectionClosed:
            pass
        finally:
            self.live.discard(ws)

    @staticmethod
    async def echo(server: RecordingServer, ws: ServerConnection) -> None:
        """Record and echo each message."""
        record = server.connections[-1]
        for _ in range(1_000_000):  # bounded; each iteration awaits a message
            message = await ws.recv()
            record.append(message)
            await ws.send(message)

    @staticmethod
    async def ack(server: RecordingServer, ws: ServerConnection) -> None:
        """Record each message and answer ``ack <message>``."""
        record = server.connections[-1]
        for _ in range(10_000_000):
            message = await ws.recv()
            record.append(message)
            await ws.send(f"ack {message!s}")


# ---------------------------------------------------------------- test helpers


async def wait_until(
    predicate: Callable[[], bool], timeout: float = 10.0, what: str = "the condition"
) -> float:
    """Poll ``predicate`` every 10 ms until it holds (bounded by ``timeout`` and a count);
    return the loop time at which it held."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    for _ in range(int(timeout / 0.01) + 100):
        if predicate():
            return loop.time()
        if loop.time() > end:
            break
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def omniws_tasks() -> set[asyncio.Task[object]]:
    """Pending tasks running code of the omniws package (the client's own tasks)."""
    found: set[asyncio.Task[object]] = set()
    for task in asyncio.all_tasks():
        coro = task.get_coro()
        code = getattr(coro, "cr_code", None)
        if code is not None and "/omniws/" in code.co_filename.replace("\\", "/"):
            found.add(task)
    return found
