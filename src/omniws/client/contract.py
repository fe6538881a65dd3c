"""What the client needs from a connection, and how it opens one.

The native and the Pyodide Connections satisfy :class:`Connection` (mypy checks both in
``omniws._platform``); the unit tests provide a fake. The client never sees a socket.

Optional hooks, looked up with ``getattr``: ``reading_paused`` (bool: the heartbeat does not
blame the peer while reading is paused) and ``close_nowait(code, reason)`` (start the close
handshake synchronously: a page's ``pagehide`` listener cannot await, and the page may be
frozen before a task runs; without it the close runs in a task).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from ..config import WebSocketConfig
from ..errors import WebSocketError
from ..messages import CloseFrame, Data, Message

__all__ = ["Connection", "OpenConnection"]


class Connection(Protocol):
    """The contract of docs/INTERNALS.md between the client and a platform's connection."""

    @property
    def last_received(self) -> float:
        """Event-loop time of the last inbound bytes (any frame)."""

    @property
    def close_code(self) -> int | None:
        """None while the connection is open."""

    @property
    def close_error(self) -> WebSocketError | None:
        """The error that ended the connection, if any."""

    @property
    def subprotocol(self) -> str | None:
        """The subprotocol the server chose, if any."""

    @property
    def response_headers(self) -> dict[str, str]:
        """The handshake response headers, lower-case names."""

    def set_message_handler(self, handler: Callable[[Message], object] | None) -> None:
        """Route each message to ``handler`` from the parser, or (None) to ``recv()``."""

    async def send(self, data: Data) -> None:
        """Send one message: ``str`` as text, bytes-like as binary."""

    async def recv(self) -> Message:
        """The next buffered message; ConnectionClosed once closed and drained."""

    async def ping(self) -> float:
        """Send a ping and return the round-trip time in seconds."""

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Run the close handshake (bounded by close_timeout)."""

    async def wait_closed(self) -> CloseFrame:
        """Resolve when the connection has ended, for any reason."""

    def abort(self) -> None:
        """Drop the transport at once (close code 1006)."""


OpenConnection = Callable[[WebSocketConfig], Awaitable[Connection]]
"""``open_connection(config) -> Connection``: how the supervisor opens each connection."""
