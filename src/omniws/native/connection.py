"""The CPython connection: an asyncio.Protocol that drives the sans-I/O core.

One object per connection, with no task of its own: bytes arrive in ``data_received``,
are parsed there, and complete messages either go straight to a message handler or
into a bounded queue that ``recv()`` reads without a task switch when it is not empty.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from .._connection_base import ConnectionBase
from ..config import WebSocketConfig, as_seconds
from ..errors import (
    ConnectionClosed,
    ProtocolError,
    WebSocketError,
)
from ..messages import CloseFrame, Data, Message
from ..protocol.connection import WebSocketProtocol

if TYPE_CHECKING:
    from ..protocol.deflate import PerMessageDeflate

__all__ = ["Connection"]

_OPEN, _CLOSING, _CLOSED = 1, 2, 3
MessageHandler = Callable[[Message], object]


class Connection(ConnectionBase, asyncio.Protocol):
    """An open WebSocket connection on CPython. Get one from :func:`omniws.connect`."""

    def __init__(
        self,
        config: WebSocketConfig,
        loop: asyncio.AbstractEventLoop,
        transport: asyncio.Transport,
        subprotocol: str | None,
        response_headers: dict[str, str],
        deflate: PerMessageDeflate | None,
    ) -> None:
        self.config = config
        self._loop = loop
        self._transport = transport
        self._protocol = WebSocketProtocol(
            transport.write,
            max_message_size=config.max_message_size,
            deflate=deflate,
            on_message=self._enqueue,
            on_pong=self._on_pong,
            on_close=self._on_close_frame,
        )
        transport.set_write_buffer_limits(high=config.write_limit)
        self._closed: asyncio.Future[CloseFrame] = loop.create_future()
        self._state = _OPEN
        self._queue: deque[Message] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._reading_paused = False
        self._write_paused = False
        self._drain_waiters: list[asyncio.Future[None]] = []
        self._pings: dict[bytes, tuple[asyncio.Future[float], float]] = {}
        self._ping_counter = 0
        self._close_timer: asyncio.TimerHandle | None = None
        self._time = loop.time
        self._max_queue = config.max_queue
        self.last_received = loop.time()
        self.subprotocol = subprotocol
        self.response_headers = response_headers
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self.close_error: WebSocketError | None = None

    # ---- asyncio.Protocol callbacks -------------------------------------------------
    def data_received(self, data: bytes) -> None:
        self.last_received = self._time()
        try:
            self._protocol.receive_data(data)
        except ProtocolError as exc:
            self.close_error = exc
            self.close_code, self.close_reason = exc.close_code, ""  # what we sent
            self._state = _CLOSING
            self._wake_reader()
            self._start_close_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._state = _CLOSED
        if self._close_timer is not None:
            self._close_timer.cancel()
        if self.close_code is None:
            self.close_code, self.close_reason = 1006, ""
        frame = CloseFrame(self.close_code, self.close_reason or "")
        for future, _ in self._pings.values():
            if not future.done():
                future.set_exception(self._closed_error())
        self._pings.clear()
        self._wake_reader()
        self._wake_writers()
        if not self._closed.done():
            self._closed.set_result(frame)

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        self._wake_writers()

    # ---- receiving ------------------------------------------------------------------
    def _enqueue(self, message: Message) -> None:
        self._queue.append(message)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        if (
            len(self._queue) >= self._max_queue
            and not self._reading_paused
            and self._state == _OPEN
        ):
            self._reading_paused = True
            self._transport.pause_reading()

    async def recv(self) -> Message:
        """The next message: ``str`` for text, ``bytes`` for binary.

        Raises :class:`ConnectionClosed` (or the protocol error that ended the connection)
        once the connection is closed and every buffered message was read.
        """
        queue = self._queue
        if not queue:
            if self._state != _OPEN and (
                self._state == _CLOSED
                or self.close_error is not None
                or self._protocol.close_received is not None
            ):
                raise self._closed_error()
            try:
                await self._new_waiter()
            finally:
                self._waiter = None
            if not queue:
                raise self._closed_error()
        message = queue.popleft()
        if self._reading_paused and len(queue) <= self.config.max_queue >> 2:
            self._reading_paused = False
            if self._state != _CLOSED:
                self._transport.resume_reading()
        return message

    def set_message_handler(self, handler: MessageHandler | None) -> None:
        """Deliver each message to ``handler(message)`` straight from the parser (None:
        back to the ``recv()`` queue). Messages already queued go to the handler first."""
        if handler is None:
            self._protocol.on_message = self._enqueue
            return
        while self._queue:
            handler(self._queue.popleft())
        self._protocol.on_message = handler
        if self._reading_paused:
            self._reading_paused = False
            self._transport.resume_reading()

    async def send(self, message: Data) -> None:
        """Send ``str`` as a text message, ``bytes``-like as binary; waits while the
        transport's write buffer is above ``write_limit``."""
        if self._state != _OPEN:
            raise self._closed_error()
        self._protocol.send(message)
        if self._write_paused:
            waiter = self._loop.create_future()
            self._drain_waiters.append(waiter)
            await waiter
            if self._state == _CLOSED:
                raise self._closed_error()

    def send_nowait(self, message: Data) -> None:
        """Send at once, from code that cannot await (a ``set_message_handler`` callback).

        Unlike ``send()`` it never waits for the write buffer to drain below ``write_limit``:
        what the peer has not read yet stays buffered in memory. Check ``write_paused`` (or
        use ``await send()`` where you can) when the peer may be slower than you.
        """
        if self._state != _OPEN:
            raise self._closed_error()
        self._protocol.send(message)

    @property
    def write_paused(self) -> bool:
        """True while the write buffer is above ``write_limit`` (``send()`` would wait)."""
        return self._write_paused

    def _wake_writers(self) -> None:
        waiters, self._drain_waiters = self._drain_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def ping(self, data: bytes | None = None) -> float:
        """Send a ping and return the round-trip time in seconds when its pong arrives."""
        if self._state != _OPEN:
            raise self._closed_error()
        if data is None:
            self._ping_counter += 1
            data = self._ping_counter.to_bytes(8, "big")
        if data in self._pings:
            raise ValueError("a ping with this payload is already waiting for its pong")
        future: asyncio.Future[float] = self._loop.create_future()
        self._pings[data] = (future, self._loop.time())
        self._protocol.send_ping(data)
        return await future

    def _on_pong(self, payload: bytes) -> None:
        if payload not in self._pings:
            return
        now = self._loop.time()
        # a pong answers its ping and every ping sent before it (RFC 6455 5.5.3)
        for key in list(self._pings):
            future, sent = self._pings.pop(key)
            if not future.done():
                future.set_result(now - sent)
            if key == payload:
                break

    # ---- closing --------------------------------------------------------------------
    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection with ``code`` and ``reason`` and wait for the handshake
        (at most ``close_timeout``). Safe to call more than once."""
        if self._state == _OPEN:
            self._protocol.send_close(code, reason)
            self._state = _CLOSING
            self._start_close_timer()
        if self._reading_paused and self._state != _CLOSED:
            # the server's close frame sits behind the unread messages: read on to reach it
            self._reading_paused = False
            self._transport.resume_reading()
        await asyncio.shield(self._closed)

    def abort(self) -> None:
        """Drop the connection at once, without a close handshake (close code 1006)."""
        if self._state != _CLOSED:
            # closed now, not when connection_lost runs on the next loop step: a send() in
            # between must raise rather than write to a dead transport
            if self.close_code is None:
                self.close_code, self.close_reason = 1006, ""
            self._state = _CLOSED
            self._transport.abort()
            self._wake_reader()

    def _on_close_frame(self, frame: CloseFrame) -> None:
        self.close_code, self.close_reason = frame.code, frame.reason
        self._state = _CLOSING
        self._wake_reader()
        self._start_close_timer()

    def _start_close_timer(self) -> None:
        # the server closes TCP after the close handshake; don't wait for it forever
        if self._close_timer is None and self._state != _CLOSED:
            self._close_timer = self._loop.call_later(
                as_seconds(self.config.close_timeout), self.abort
            )

    def _closed_error(self) -> WebSocketError:
        if self.close_error is not None:
            return self.close_error
        frame = self._protocol.close_received
        if frame is None and self._state == _CLOSED:
            frame = CloseFrame(1006, "")
        if frame is None:
            sent = self._protocol.close_sent
            return ConnectionClosed(
                sent.code if sent else 1006,
                sent.reason if sent else "",
                detail="close() was called",
            )
        return ConnectionClosed(frame.code, frame.reason)

    @property
    def reading_paused(self) -> bool:
        """True while the queue is full and the transport has stopped reading."""
        return self._reading_paused

    @property
    def closed(self) -> bool:
        """True once the connection has fully ended."""
        return self._state == _CLOSED

    def __repr__(self) -> str:
        state = {_OPEN: "open", _CLOSING: "closing", _CLOSED: "closed"}[self._state]
        return f"<omniws.Connection {self.config.url} {state}>"
