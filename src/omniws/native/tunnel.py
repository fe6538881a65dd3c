"""The byte stream to a proxy while it sets up a tunnel (HTTP CONNECT or SOCKS5)."""

from __future__ import annotations

import asyncio

from .._opening import authority
from .._tunnel_steps import closed_error
from .._urls import ProxyURL
from ..errors import ConnectionFailed

__all__ = ["TunnelProtocol", "authority"]


class TunnelProtocol(asyncio.Protocol):
    """Buffers the proxy's answers for the coroutines that read them (bounded by them)."""

    def __init__(self, proxy: ProxyURL) -> None:
        self.proxy = proxy
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self._waiter: asyncio.Future[None] | None = None
        self.lost: Exception | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._wake()

    def eof_received(self) -> bool | None:
        self.closed = True
        self._wake()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.lost = exc
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def wait_data(self, what: str, hint: str = "") -> None:
        """Wait for more bytes; ConnectionFailed (with ``hint``) when the proxy hangs up."""
        if self.closed:
            raise closed_error(self.proxy, what, hint, self.lost)
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    async def read(self, size: int, what: str, hint: str = "") -> bytes:
        """The next ``size`` bytes of the proxy's answer (0: what has arrived, at least
        one byte)."""
        for _ in range(size + 1):  # every wait adds at least one byte or raises
            if self.buffer and len(self.buffer) >= size:
                break
            await self.wait_data(what, hint)
        size = size or len(self.buffer)
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    def write(self, data: bytes) -> None:
        """Send ``data`` to the proxy."""
        if self.transport is None:
            raise ConnectionFailed(f"proxy {self.proxy}: not connected")
        self.transport.write(data)
