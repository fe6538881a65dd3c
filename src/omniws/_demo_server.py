"""A small echo server on the sans-I/O core, for ``omniws demo`` and local experiments.

It is deliberately minimal: no TLS, no compression (it declines the offer), one echo
behaviour. It exists so that a newcomer can try omniws with nothing else installed.
"""

from __future__ import annotations

import asyncio

from .errors import ProtocolError
from .messages import CloseFrame, Message
from .protocol.connection import WebSocketProtocol
from .protocol.handshake import MAX_RESPONSE_HEAD, accept_key

__all__ = ["EchoServer", "start_echo_server"]


class _EchoProtocol(asyncio.Protocol):
    def __init__(self, registry: list[_EchoProtocol]) -> None:
        self._registry = registry
        registry.append(self)
        self._transport: asyncio.Transport | None = None
        self._head = bytearray()
        self._protocol: WebSocketProtocol | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        if self in self._registry:
            self._registry.remove(self)

    def data_received(self, data: bytes) -> None:
        assert self._transport is not None
        if self._protocol is None:
            self._head += data
            end = self._head.find(b"\r\n\r\n")
            if end < 0:
                if len(self._head) > MAX_RESPONSE_HEAD:
                    self._transport.close()
                return
            rest = bytes(self._head[end + 4 :])
            if not self._upgrade(bytes(self._head[:end])):
                return
            data = rest
        assert self._protocol is not None
        try:
            self._protocol.receive_data(data)
        except ProtocolError:
            self._transport.close()

    def _upgrade(self, head: bytes) -> bool:
        assert self._transport is not None
        headers = {}
        for line in head.decode("iso-8859-1").split("\r\n")[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        key = headers.get("sec-websocket-key")
        if key is None or "websocket" not in headers.get("upgrade", "").lower():
            body = b"This is a WebSocket echo server: connect with ws://\n"
            self._transport.write(
                b"HTTP/1.1 426 Upgrade Required\r\nUpgrade: websocket\r\nContent-Length: "
                + str(len(body)).encode()
                + b"\r\nConnection: close\r\n\r\n"
                + body
            )
            self._transport.close()
            return False
        self._transport.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept_key(key).encode() + b"\r\n\r\n"
        )
        self._protocol = WebSocketProtocol(
            self._transport.write, client=False, on_message=self._echo, on_close=self._closed
        )
        return True

    def _echo(self, message: Message) -> None:
        assert self._protocol is not None
        if isinstance(message, str):
            self._protocol.send_text(message)
        else:
            self._protocol.send_binary(message)

    def _closed(self, frame: CloseFrame) -> None:
        assert self._transport is not None
        self._transport.close()  # the server closes TCP after the close handshake

    def drop(self) -> None:
        """Cut the connection without a close frame (used by ``demo --chaos``)."""
        if self._transport is not None:
            self._transport.abort()


class EchoServer:
    """A running echo server; ``url`` is where to connect, ``close()`` stops it."""

    def __init__(self, server: asyncio.Server, connections: list[_EchoProtocol]) -> None:
        self._server = server
        self._connections = connections
        host, port = server.sockets[0].getsockname()[:2]
        self.url = f"ws://{host}:{port}/"

    def drop_connections(self) -> int:
        """Abort every open connection; returns how many there were."""
        connections = list(self._connections)
        for connection in connections:
            connection.drop()
        return len(connections)

    async def close(self) -> None:
        self._server.close()
        self.drop_connections()
        await self._server.wait_closed()


async def start_echo_server(host: str = "127.0.0.1", port: int = 0) -> EchoServer:
    """Start an echo server on ``host:port`` (port 0: any free port)."""
    connections: list[_EchoProtocol] = []

    server = await asyncio.get_running_loop().create_server(
        lambda: _EchoProtocol(connections), host, port
    )
    return EchoServer(server, connections)
