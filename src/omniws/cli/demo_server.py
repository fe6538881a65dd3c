"""A small echo server on the sans-I/O core, for ``omniws demo``, the README's examples and
local experiments.

It is deliberately minimal: no TLS, no compression (it declines the offer), one echo
behaviour; it selects the first subprotocol a client offers. It exists so that a newcomer
can try omniws with nothing else installed, and it can misbehave on purpose: drop every
connection without a close frame, or go away for a while and come back on the same port
(``omniws demo --chaos``). ``omniws serve`` runs it on its own, with a line per connection
(``log``) and a clean shutdown: every open connection is closed with 1001.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

from .. import CloseFrame, Message, ProtocolError
from ..protocol.connection import WebSocketProtocol
from ..protocol.handshake import MAX_RESPONSE_HEAD, accept_key

__all__ = ["EchoServer", "Log", "chaos", "start_echo_server"]

Log = Callable[[str], object]
"""Where a server tells what happens to each connection: one line of text per event."""


def _no_log(text: str) -> None:
    pass


def _address(peername: object) -> str:
    """``host:port`` (``[host]:port`` for IPv6) of a socket address tuple."""
    if isinstance(peername, tuple) and len(peername) >= 2:
        host, port = peername[0], peername[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    return str(peername or "?")


class _EchoProtocol(asyncio.Protocol):
    """One connection: the HTTP upgrade, then every data message sent straight back."""

    def __init__(self, registry: set[_EchoProtocol], log: Log) -> None:
        self._registry = registry
        registry.add(self)
        self._log = log
        self._transport: asyncio.Transport | None = None
        self._head = bytearray()
        self._protocol: WebSocketProtocol | None = None
        self.peer = "?"
        self._refused = False
        self._echoed = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.peer = _address(transport.get_extra_info("peername"))
        if not isinstance(transport, asyncio.Transport):  # a stream server's are
            transport.close()
            return
        self._transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self._registry.discard(self)
        protocol = self._protocol
        if protocol is not None:
            got, sent = protocol.close_received, protocol.close_sent
            how = f"closed: {got}" if got else "dropped without a close frame (1006)"
            if sent and not got:
                how = f"closed: sent {sent}, had no answer"
            self._log(f"{self.peer}: {how}; {self._echoed} message(s) echoed")
        elif not self._refused:
            self._log(f"{self.peer}: left before the WebSocket handshake")

    def data_received(self, data: bytes) -> None:
        transport, protocol = self._transport, self._protocol
        if transport is None or transport.is_closing():
            return
        if protocol is None:
            self._head += data
            end = self._head.find(b"\r\n\r\n")
            if end < 0:
                if len(self._head) > MAX_RESPONSE_HEAD:
                    transport.close()
                return
            rest = bytes(self._head[end + 4 :])
            protocol = self._protocol = self._upgrade(transport, bytes(self._head[:end]))
            self._head.clear()
            if protocol is None:
                return
            data = rest
        try:
            protocol.receive_data(data)
        except ProtocolError as exc:
            if not protocol.closing:
                protocol.send_close(exc.close_code, "")
            transport.close()

    def _upgrade(self, transport: asyncio.Transport, head: bytes) -> WebSocketProtocol | None:
        """Answer the opening handshake; the connection's protocol, or None if refused."""
        headers = {}
        for line in head.decode("iso-8859-1").split("\r\n")[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        key = headers.get("sec-websocket-key")
        if key is None or "websocket" not in headers.get("upgrade", "").lower():
            body = b"This is a WebSocket echo server: connect with ws://\n"
            transport.write(
                b"HTTP/1.1 426 Upgrade Required\r\nUpgrade: websocket\r\nContent-Length: "
                + str(len(body)).encode()
                + b"\r\nConnection: close\r\n\r\n"
                + body
            )
            transport.close()
            self._refused = True
            self._log(f"{self.peer}: not a WebSocket request: answered HTTP 426")
            return None
        extra = b""
        offered = [p.strip() for p in headers.get("sec-websocket-protocol", "").split(",")]
        if offered[0]:
            extra = b"Sec-WebSocket-Protocol: " + offered[0].encode("iso-8859-1") + b"\r\n"
        transport.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept_key(key).encode() + b"\r\n" + extra + b"\r\n"
        )
        chosen = f" (subprotocol {offered[0]})" if offered[0] else ""
        self._log(f"{self.peer}: connected{chosen}")
        return WebSocketProtocol(
            transport.write, client=False, on_message=self._echo, on_close=self._closed
        )

    def _echo(self, message: Message) -> None:
        protocol = self._protocol
        if protocol is not None and not protocol.closing:
            protocol.send(message)
            self._echoed += 1

    def _closed(self, frame: CloseFrame) -> None:
        if self._transport is not None:
            self._transport.close()  # the server closes TCP after the close handshake

    def drop(self) -> None:
        """Cut the connection without a close frame (the client sees 1006)."""
        if self._transport is not None:
            self._transport.abort()

    def going_away(self, code: int, reason: str) -> None:
        """Start the close handshake with ``code`` (before the upgrade: just close)."""
        if self._protocol is not None and self._transport is not None:
            self._protocol.send_close(code, reason)
        elif self._transport is not None:
            self._transport.close()


class EchoServer:
    """A running echo server: ``url`` is where to connect, ``close()`` stops it.

    ``drop_connections()`` cuts every open connection; ``stop_listening()`` and
    ``start_listening()`` take the server away and bring it back on the same port, as a
    restarting server would (``restart()`` does both, with a pause between).
    """

    def __init__(self, host: str, port: int, log: Log | None = None) -> None:
        self.host = host
        self.port = port
        self.log = log or _no_log
        self._server: asyncio.Server | None = None
        self._connections: set[_EchoProtocol] = set()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ws://{host}:{self.port}/"

    @property
    def listening(self) -> bool:
        return self._server is not None

    @property
    def connection_count(self) -> int:
        return len(self._connections)

    async def start_listening(self) -> None:
        """Listen on ``host:port`` (port 0 on the first start: any free port)."""
        if self._server is not None:
            return
        connections, log = self._connections, self.log
        self._server = await asyncio.get_running_loop().create_server(
            lambda: _EchoProtocol(connections, log), self.host, self.port
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop_listening(self) -> None:
        """Stop accepting connections and drop the open ones (a crash, seen from outside)."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        self.drop_connections()
        if server is not None:
            await server.wait_closed()

    async def restart(self, downtime: float = 1.0) -> None:
        """Go away for ``downtime`` seconds, then listen again on the same port."""
        await self.stop_listening()
        await asyncio.sleep(downtime)
        await self.start_listening()

    def drop_connections(self) -> int:
        """Abort every open connection; returns how many there were."""
        connections = list(self._connections)
        for connection in connections:
            connection.drop()
        return len(connections)

    async def close(self) -> None:
        """Stop at once: open connections are dropped without a close frame."""
        await self.stop_listening()

    async def shutdown(self, timeout: float = 2.0, reason: str = "server shutting down") -> None:
        """Stop cleanly: stop accepting, close every open connection with 1001 (going away),
        wait up to ``timeout`` seconds for the clients to answer, then drop the rest."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for connection in list(self._connections):
            connection.going_away(1001, reason)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._connections and loop.time() < deadline:
            await asyncio.sleep(0.01)
        self.drop_connections()
        if server is not None:
            await server.wait_closed()


async def start_echo_server(
    host: str = "127.0.0.1", port: int = 0, log: Log | None = None
) -> EchoServer:
    """Start an echo server on ``host:port`` (port 0: any free port); ``log(text)`` is told
    of each connection opened, refused or closed."""
    server = EchoServer(host, port, log)
    await server.start_listening()
    return server


async def chaos(
    server: EchoServer,
    report: Callable[[str], object],
    interval: float = 5.0,
    rng: random.Random | None = None,
    rounds: int = 100_000,
    name: str = "the demo server",
) -> None:
    """Misbehave every ``interval`` seconds (spread +/- 50 %), for ``rounds`` rounds: usually
    drop every connection without a close frame; sometimes go away for one to three seconds
    (less with a shorter interval) and come back on the same port. Rounds without a
    connection are skipped. ``report(text)`` tells what happened to ``name``."""
    rng = rng or random.Random()  # noqa: S311 - chaos timing, not security
    for _ in range(rounds):
        await asyncio.sleep(interval * rng.uniform(0.5, 1.5))
        if not server.connection_count:
            continue  # nobody to annoy: the client is reconnecting already
        if rng.random() < 0.7:
            dropped = server.drop_connections()
            report(f"chaos: {name} dropped {dropped} connection(s) without a close frame")
        else:
            downtime = min(interval, 1.0) * rng.uniform(1.0, 3.0)
            report(f"chaos: {name} goes away for {downtime:.1f} s")
            await server.restart(downtime)
            report(f"chaos: {name} is back")
