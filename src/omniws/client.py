"""WebSocketClient: a connection that stays up by itself.

The supervisor opens a Connection with an injectable opener (native.py, or wasm.py under
Pyodide), watches it with a heartbeat, reconnects by :class:`~omniws.ReconnectConfig` and
reports every step as a state and as events. It knows nothing of sockets.

Delivery is at most once: a message handed to a socket is never sent again, and ``send()``
raises ``ConnectionClosed`` when the connection ends under it (the message may or may not
have reached the server). ``send()`` while the client is (re)connecting waits for the next
connection, up to ``config.send_timeout``.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from types import TracebackType
from typing import TypeVar

from ._events import (
    ClientStats,
    Connection,
    EventHandlers,
    HandlerError,
    OpenConnection,
    payload_size,
)
from ._supervisor import Supervisor, _secs
from .backoff import RetryHook
from .config import WebSocketConfig
from .errors import ConnectionClosed
from .messages import Data, Message
from .state import Closing, ConnectionState, Disconnected

__all__ = ["ClientStats", "Connection", "EventHandlers", "HandlerError", "WebSocketClient"]

H = TypeVar("H", bound=Callable[..., object])


class WebSocketClient(Supervisor):
    """A supervised WebSocket client: connects, reconnects, and keeps the stream going.

    ``config`` is a :class:`WebSocketConfig` or a URL. ``handlers`` and the decorators
    (``on_open``, ``on_message``, ``on_close``, ``on_error``, ``on_state_change``) take plain or
    async functions; register them before ``connect()``. ``should_retry(cause)`` may overrule
    the retry decision (True/False) or leave it (None). ``open_connection`` and ``rng`` are for
    other platforms and for tests.
    """

    def __init__(
        self,
        config: WebSocketConfig | str,
        *,
        handlers: EventHandlers | None = None,
        should_retry: RetryHook | None = None,
        open_connection: OpenConnection | None = None,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(config, handlers, should_retry, open_connection, rng)

    # --- handlers -------------------------------------------------------------------------
    def on_open(self, handler: H) -> H:
        """Decorator: ``handler()`` runs after every (re)connection, before queued sends."""
        self._events.add("on_open", handler)
        return handler

    def on_message(self, handler: H) -> H:
        """Decorator: ``handler(message)`` for every message (then ``recv()`` is not used).

        Sync handlers run straight from the parser; async ones in order on one task."""
        self._events.add("on_message", handler)
        return handler

    def on_close(self, handler: H) -> H:
        """Decorator: ``handler(CloseFrame)`` whenever a connection ends."""
        self._events.add("on_close", handler)
        return handler

    def on_error(self, handler: H) -> H:
        """Decorator: ``handler(WebSocketError)`` for each failed attempt, each error that ended
        a connection (heartbeat timeout, protocol error...) and each exception raised by another
        handler (a :class:`HandlerError`). A drop without an error is only ``on_close(1006)``."""
        self._events.add("on_error", handler)
        return handler

    def on_state_change(self, handler: H) -> H:
        """Decorator: ``handler(new_state)`` on every state change."""
        self._events.add("on_state_change", handler)
        return handler

    # --- public API -----------------------------------------------------------------------
    @property
    def state(self) -> ConnectionState:
        """The current :data:`~omniws.state.ConnectionState`."""
        return self._state

    @property
    def subprotocol(self) -> str | None:
        """The subprotocol the server chose on the current connection; None when it chose
        none or while not connected."""
        conn = self._conn
        return None if conn is None else conn.subprotocol

    @property
    def response_headers(self) -> dict[str, str]:
        """The handshake response headers of the current connection (lower-case names; a
        copy); empty while not connected, and under Pyodide, where the browser hides them."""
        conn = self._conn
        return {} if conn is None else dict(conn.response_headers)

    @property
    def stats(self) -> ClientStats:
        """A snapshot of the message, byte, reconnect, time and RTT counters."""
        connected = self._connected_time
        if self._opened_at is not None and self._loop is not None:
            connected += self._loop.time() - self._opened_at
        return ClientStats(
            self._inbox.count,
            self._inbox.size,
            self._messages_out,
            self._bytes_out,
            self._connections,
            self._reconnects,
            connected,
            self._last_rtt,
        )

    async def connect(self) -> None:
        """Start the client if needed and return once it is connected (after ``on_open``).

        It returns even if that connection has already ended (the server closed right after
        the handshake): what it sent stays readable with ``recv()``. Failed attempts are
        retried by the policy; raises the error that made it stop (the ``Failed`` state's),
        or ConnectionClosed if ``close()`` is called meanwhile.
        """
        if self._close_waiter is not None:
            await asyncio.wait({self._close_waiter})
        if self._supervisor is None or self._supervisor.done():
            self._start()
        await self._wait_opened(None, "connect")

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Wait until the client is connected and ``on_open`` has run (as ``connect()``).

        Raises WebSocketTimeout after ``timeout`` seconds, the error of a ``Failed`` client,
        or ConnectionClosed on a closed (or never started) client."""
        await self._wait_opened(timeout, "wait_connected")

    async def send(self, data: Data) -> None:
        """Send a message: ``str`` as text, bytes-like as binary.

        While (re)connecting, waits up to ``config.send_timeout`` (WebSocketTimeout). Raises
        ConnectionClosed on a closed client and the error of a failed one."""
        conn = self._usable() or await self._wait_ready(_secs(self.config.send_timeout), "send")
        await conn.send(data)
        self._messages_out += 1
        self._bytes_out += payload_size(data)

    async def recv(self) -> Message:
        """The next message, across reconnections.

        Raises ConnectionClosed once the client is closed and every received message has been
        returned, and the error of a ``Failed`` client. During ``close()`` messages are still
        received until the server answers the close (at most ``config.close_timeout``)."""
        if self._events.lists["on_message"]:
            raise RuntimeError("recv() is not available: on_message handlers take the messages")
        return await self._inbox.next(self._raise_if_drained, self._change)

    def __aiter__(self) -> WebSocketClient:
        return self

    async def __anext__(self) -> Message:
        try:
            return await self.recv()
        except ConnectionClosed:
            if isinstance(self._state, Disconnected | Closing):
                raise StopAsyncIteration from None
            raise

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection (if any) and stop the client, in any state; idempotent.

        A backoff wait or a connection attempt is abandoned at once. Nothing is retried after
        it, and no task of the client is left when it returns."""
        if self._close_waiter is not None:
            await asyncio.wait({self._close_waiter})
            return
        self._close_waiter = asyncio.get_running_loop().create_future()
        try:
            await self._close(code, reason)
        finally:
            self._close_waiter.set_result(None)
            self._close_waiter = None

    async def __aenter__(self) -> WebSocketClient:
        try:
            await self.connect()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
