"""WebSocketClient: a connection that stays up by itself.

Composed of small parts (docs/INTERNALS.md): a lifecycle (the state machine), a link (the
current connection), an inbox, an event dispatcher, counters, and the supervisor loop that
opens connections with the platform's opener (or an injected one), watches them with a
heartbeat and reconnects by :class:`~omniws.ReconnectConfig`. It knows nothing of sockets.

Delivery is at most once: a message handed to a socket is never sent again, and ``send()``
raises ``ConnectionClosed`` when the connection ends under it (the message may or may not
have reached the server). ``send()`` while the client is (re)connecting waits for the next
connection, up to ``config.send_timeout``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from types import TracebackType
from typing import TypeVar

from .. import _runtime
from .._platform import BROWSER
from .._platform import open_connection as platform_open_connection
from .._validate import Duration, seconds
from ..closecodes import check_close
from ..config import WebSocketConfig
from ..errors import ConfigError, ConnectionClosed
from ..messages import Data, Message
from ..state import Closing, ConnectionState, Disconnected
from .contract import OpenConnection
from .events import Dispatcher, EventHandlers
from .inbox import Inbox
from .lifecycle import Lifecycle
from .link import Link
from .retry import RetryHook
from .stats import ClientStats, Counters
from .supervisor import Parts, Supervisor

__all__ = ["WebSocketClient"]

H = TypeVar("H", bound=Callable[..., object])


class WebSocketClient:
    """A supervised WebSocket client: connects, reconnects, and keeps the stream going.

    ``config`` is a :class:`WebSocketConfig` or a URL. ``handlers`` and the decorators
    (``on_open``, ``on_message``, ``on_close``, ``on_error``, ``on_state_change``) take plain or
    async functions; register them before ``connect()``. ``should_retry(cause)`` may overrule
    the retry decision (True/False) or leave it (None). ``open_connection`` and ``rng`` are for
    other platforms and for tests. It runs under ``asyncio.run`` and ``trio.run`` alike: its
    background tasks, waits and timeouts use the library that calls ``connect()``.
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
        """Configure the client; nothing connects until ``connect()`` or ``async with``.

        Raises ConfigError for an invalid URL or config, TypeError for handlers or hooks
        that are not functions."""
        if isinstance(config, str):
            config = WebSocketConfig(url=config)
        elif not isinstance(config, WebSocketConfig):
            raise ConfigError(
                "config",
                f"must be a WebSocketConfig or a ws:// / wss:// URL string, got {config!r}",
            )
        for name, value in (("should_retry", should_retry), ("open_connection", open_connection)):
            if value is not None and not callable(value):
                raise TypeError(f"{name} must be a function, got {value!r}")
        if rng is not None and not isinstance(rng, random.Random):
            raise TypeError(f"rng must be a random.Random, got {rng!r}")
        self.config = config
        self._events = Dispatcher(handlers)
        self._lifecycle = Lifecycle(config.url, self._state_changed)
        self._link = Link(self._lifecycle)
        self._counters = Counters()
        self._inbox = Inbox(
            config.max_queue,
            self._events,
            self._counters,
            self._lifecycle.notify,
            config.heartbeat_reply,
        )
        parts = Parts(self._lifecycle, self._link, self._inbox, self._events, self._counters)
        opener = open_connection or platform_open_connection
        self._supervisor = Supervisor(
            config, parts, opener, should_retry, rng, opener_times_out=open_connection is None
        )
        self._close_waiter: _runtime.Signal | None = None

    def _state_changed(self, state: ConnectionState) -> None:
        self._events.emit("on_state_change", state)

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
        return self._lifecycle.state

    @property
    def subprotocol(self) -> str | None:
        """The subprotocol the server chose on the current connection; None when it chose
        none or while not connected."""
        conn = self._link.current
        return None if conn is None else conn.subprotocol

    @property
    def response_headers(self) -> dict[str, str]:
        """The handshake response headers of the current connection (lower-case names; a
        copy); empty while not connected, and under Pyodide, where the browser hides them."""
        conn = self._link.current
        return {} if conn is None else dict(conn.response_headers)

    @property
    def stats(self) -> ClientStats:
        """A snapshot of the message, byte, reconnect, time and RTT counters."""
        return self._counters.snapshot(self._supervisor.uptime())

    async def connect(self) -> None:
        """Start the client if needed and return once it is connected (after ``on_open``).

        It returns even if that connection has already ended (the server closed right after
        the handshake): what it sent stays readable with ``recv()``. Failed attempts are
        retried by the policy; raises the error that made it stop (the ``Failed`` state's),
        or ConnectionClosed if ``close()`` is called meanwhile.
        """
        if self._close_waiter is not None:
            await _runtime.current().shielded(self._close_waiter)
        if not self._supervisor.running:
            self._supervisor.start()
        await self._link.wait_opened(None, "connect")

    async def wait_connected(self, timeout: Duration | None = None) -> None:
        """Wait until the client is connected and ``on_open`` has run (as ``connect()``).

        Raises WebSocketTimeout after ``timeout`` seconds, the error of a ``Failed`` client,
        or ConnectionClosed on a closed (or never started) client."""
        limit = seconds("timeout", timeout, allow_none=True, allow_zero=True)
        await self._link.wait_opened(limit, "wait_connected")

    async def send(self, data: Data) -> None:
        """Send a message: ``str`` as text, bytes-like as binary.

        While (re)connecting, waits up to ``config.send_timeout`` (WebSocketTimeout). Raises
        ConnectionClosed on a closed client and the error of a failed one."""
        link = self._link
        conn = link.usable() or await link.wait_ready(self.config.send_timeout, "send")
        await conn.send(data)
        self._counters.sent(data)

    async def recv(self) -> Message:
        """The next message, across reconnections.

        Several tasks may call it at once: each message goes to exactly one of them. Raises
        ConnectionClosed once the client is closed and every received message has been
        returned, and the error of a ``Failed`` client. During ``close()`` messages are still
        received until the server answers the close (at most ``config.close_timeout``)."""
        if self._events.handles("on_message"):
            raise RuntimeError("recv() is not available: on_message handlers take the messages")
        return await self._inbox.next(self._link.raise_if_drained, self._lifecycle.changed)

    def __aiter__(self) -> WebSocketClient:
        return self

    async def __anext__(self) -> Message:
        try:
            return await self.recv()
        except ConnectionClosed:
            if isinstance(self._lifecycle.state, Disconnected | Closing):
                raise StopAsyncIteration from None
            raise

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection (if any) and stop the client, in any state; idempotent.

        A backoff wait or a connection attempt is abandoned at once. Nothing is retried after
        it, and no task of the client is left when it returns. ``code`` and ``reason`` are
        checked as ``Connection.close`` checks them (ValueError, TypeError)."""
        check_close(code, reason, browser=BROWSER)
        if self._close_waiter is not None:
            await _runtime.current().shielded(self._close_waiter)
            return
        runtime = _runtime.current()
        self._close_waiter = runtime.signal()
        try:
            with runtime.cleanup():
                await self._supervisor.close(code, reason)
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
