"""``omniws.sync.WebSocketClient``: the supervised client, for threaded code.

The async :class:`omniws.WebSocketClient` runs on an event loop in a background thread of
this client's own, so states, retries, heartbeat and handlers behave exactly as there.
Handlers are plain functions and run on that thread, one at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import threading
from collections.abc import Callable
from types import TracebackType
from typing import TypeVar

import omniws

from .._validate import Duration, seconds
from ..client import RetryHook
from ..closecodes import check_close
from ..config import WebSocketConfig
from ..errors import ConnectionClosed, WebSocketError
from ..messages import Data, Message
from ..state import Closing, Connected, ConnectionState, Disconnected
from ._inbox import Inbox, receive
from ._outbox import Outbox, check_data
from ._thread import LoopThread, require_threads

__all__ = ["WebSocketClient"]

H = TypeVar("H", bound=Callable[..., object])
_NOT_STARTED = "the client is not running: call connect() (or use `with client:`) first"


class WebSocketClient:
    """A WebSocket client that reconnects by itself, with a blocking API (any thread).

    Takes what :class:`omniws.WebSocketClient` takes: a URL or a :class:`WebSocketConfig`,
    ``handlers=EventHandlers(...)`` and ``should_retry``. Handlers (``on_open``, ``on_message``,
    ``on_close``, ``on_error``, ``on_state_change``) are plain functions called on the
    client's own thread; inside them ``send()`` and ``close()`` do not block (the message is
    sent right after the handler), and ``recv()`` is not available. ``send()`` while the
    client reconnects waits for the new connection, up to ``config.send_timeout``.
    """

    def __init__(
        self,
        config: WebSocketConfig | str,
        *,
        handlers: omniws.EventHandlers | None = None,
        should_retry: RetryHook | None = None,
    ) -> None:
        require_threads()
        self._client = omniws.WebSocketClient(config, handlers=handlers, should_retry=should_retry)
        self.config: WebSocketConfig = self._client.config
        self._options = (handlers, should_retry)
        self._added: list[tuple[str, Callable[..., object]]] = []
        self._with_handler = handlers is not None and handlers.on_message is not None
        self._inbox = Inbox(self.config.max_queue, self._request_room)
        self._thread: LoopThread | None = None
        self._outbox: Outbox | None = None
        self._room: asyncio.Event | None = None
        self._pumping: asyncio.Task[None] | None = None
        self._used = False
        self._closing = False
        self._lock = threading.Lock()

    # --- handlers -------------------------------------------------------------------------
    def _add(self, event: str, handler: H) -> H:
        if not callable(handler) or inspect.iscoroutinefunction(handler):
            raise TypeError(f"{event} takes a plain function (the sync client runs no coroutines)")
        getattr(self._client, event)(handler)
        self._added.append((event, handler))
        if event == "on_message":
            self._with_handler = True
        return handler

    def on_open(self, handler: H) -> H:
        """Decorator: ``handler()`` after every (re)connection, before waiting sends go out."""
        return self._add("on_open", handler)

    def on_message(self, handler: H) -> H:
        """Decorator: ``handler(message)`` for every message (then ``recv()`` is not used)."""
        return self._add("on_message", handler)

    def on_close(self, handler: H) -> H:
        """Decorator: ``handler(CloseFrame)`` whenever a connection ends."""
        return self._add("on_close", handler)

    def on_error(self, handler: H) -> H:
        """Decorator: ``handler(WebSocketError)`` for failed attempts and handler errors."""
        return self._add("on_error", handler)

    def on_state_change(self, handler: H) -> H:
        """Decorator: ``handler(new_state)`` on every state change."""
        return self._add("on_state_change", handler)

    # --- the loop side --------------------------------------------------------------------
    async def _pump(self) -> None:
        """Move messages from the async client to the inbox; stop at ``max_queue``."""
        client, inbox = self._client, self._inbox
        room = self._room = asyncio.Event()
        room.set()
        while True:
            if len(inbox.messages) >= inbox.limit:
                inbox.full = True
                room.clear()
                await room.wait()
            try:
                message = await client.recv()
            except WebSocketError as exc:
                inbox.end(exc)
                return
            inbox.put(message)

    def _request_room(self) -> None:  # a reader's thread
        room, thread = self._room, self._thread
        if room is not None and thread is not None:
            thread.call(room.set)

    async def _aclose(
        self, code: int, reason: str, outbox: Outbox, stop: LoopThread | None = None
    ) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(outbox.drained(), self.config.close_timeout)
        await self._client.close(code, reason)
        if stop is not None:  # close() from a handler: end the thread now
            outbox.end(ConnectionClosed(code, reason, detail="close() was called"))
            stop.stop()

    # --- public API -----------------------------------------------------------------------
    def connect(self) -> None:
        """Start the client if needed and return once it is connected (after ``on_open``).

        Failed attempts are retried by the policy; raises the error that made it stop."""
        with self._lock:
            if self._thread is None:
                self._start()
            thread = self._thread
        if thread is None:  # narrows the type; _start() always sets it
            raise RuntimeError("the client did not start")
        thread.run(self._connect(), None, "connect")

    async def _connect(self) -> None:
        await self._client.connect()
        if not self._with_handler and (self._pumping is None or self._pumping.done()):
            self._pumping = asyncio.get_running_loop().create_task(self._pump())

    def _start(self) -> None:
        if self._used:  # a new async client for the new event loop, with the same handlers
            handlers, should_retry = self._options
            self._client = omniws.WebSocketClient(
                self.config, handlers=handlers, should_retry=should_retry
            )
            for event, handler in self._added:
                getattr(self._client, event)(handler)
        self._used, self._closing = True, False
        self._inbox.reset()
        thread = LoopThread(f"omniws.sync.WebSocketClient {self.config.url}", lend=False)
        client = self._client

        async def write(data: Data) -> None:
            await client.send(data)

        self._outbox = Outbox(
            thread.loop,
            self.config.write_limit,
            lambda data: False,
            write,
            lambda: thread.call(self._flush),
        )
        self._thread = thread
        self._pumping = None

    def _flush(self) -> None:
        if self._outbox is not None:
            self._outbox.flush()

    def wait_connected(self, timeout: Duration | None = None) -> None:
        """Wait until the client is connected and ``on_open`` has run (WebSocketTimeout after
        ``timeout`` seconds; the error of a failed client; ConnectionClosed once closed)."""
        timeout = seconds("timeout", timeout, allow_none=True, allow_zero=True)
        thread = self._thread
        if thread is None:
            raise ConnectionClosed(1006, detail=_NOT_STARTED)
        thread.run(self._client.wait_connected(timeout), None, "wait_connected")

    def send(self, message: Data) -> None:
        """Send ``str`` as text, bytes-like as binary; any thread, never interleaved.

        Returns once queued while connected; while (re)connecting waits for the connection
        (WebSocketTimeout after ``config.send_timeout``). Raises ConnectionClosed on a closed
        client and the error of a failed one."""
        data, size = check_data(message)
        thread, outbox = self._thread, self._outbox
        if thread is None or outbox is None:
            raise ConnectionClosed(1006, detail=_NOT_STARTED)
        inside = thread.inside()
        wait = not inside and not isinstance(self._client.state, Connected)
        outbox.put(data, size, wait=wait, block=not inside)

    def recv(self, timeout: Duration | None = None) -> Message:
        """The next message, across reconnections (WebSocketTimeout after ``timeout`` s).

        Raises ConnectionClosed once the client is closed and every received message was
        returned, and the error of a ``Failed`` client."""
        if timeout is not None:
            timeout = seconds("timeout", timeout, allow_none=False, allow_zero=True)
        if self._with_handler:
            raise RuntimeError("recv() is not available: on_message handlers take the messages")
        thread = self._thread
        if thread is None and self._inbox.error is None and not self._inbox.messages:
            raise ConnectionClosed(1006, detail=_NOT_STARTED)
        if thread is None:
            return self._inbox.get(timeout)
        return receive(self._inbox, thread, timeout, lambda: False)

    def __iter__(self) -> WebSocketClient:
        return self

    def __next__(self) -> Message:
        try:
            return self.recv()
        except ConnectionClosed:
            if self._closing or isinstance(self._client.state, Disconnected | Closing):
                raise StopIteration from None
            raise

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection and stop the client (and its thread), in any state; any
        thread; idempotent. A ``recv()`` blocked in another thread raises ConnectionClosed
        at once (iteration just ends)."""
        check_close(code, reason)
        with self._lock:
            thread, outbox = self._thread, self._outbox
            self._closing = True
            self._inbox.end(ConnectionClosed(code, reason, detail="close() was called"))
            if thread is None or outbox is None:
                return
            if thread.inside():  # from a handler: close without waiting
                thread.spawn(self._aclose(code, reason, outbox, stop=thread))
                self._thread = None
                return
            self._thread = None
        try:
            thread.run(self._aclose(code, reason, outbox), None, "close")
        finally:
            outbox.end(ConnectionClosed(code, reason, detail="close() was called"))
            thread.stop()

    @property
    def state(self) -> ConnectionState:
        """The current :data:`~omniws.ConnectionState`."""
        return self._client.state

    @property
    def stats(self) -> omniws.ClientStats:
        """A snapshot of the message, byte, reconnect, time and RTT counters."""
        return self._client.stats

    @property
    def subprotocol(self) -> str | None:
        """The subprotocol of the current connection, or None."""
        return self._client.subprotocol

    @property
    def response_headers(self) -> dict[str, str]:
        """The handshake response headers of the current connection (a copy)."""
        return self._client.response_headers

    def __enter__(self) -> WebSocketClient:
        try:
            self.connect()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<omniws.sync.WebSocketClient {self.config.url} {self.state}>"
