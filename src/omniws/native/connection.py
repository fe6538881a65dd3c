"""The CPython connection: an asyncio.Protocol that drives the sans-I/O core.

One object per connection, with no task of its own: bytes arrive in ``data_received``,
are parsed there, and complete messages either go straight to a message handler or
into a bounded queue that ``recv()`` reads without a task switch when it is not empty.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

from .._connection_base import CLOSED, OPEN, ConnectionBase
from .._runtime import AsyncioRuntime
from ..config import WebSocketConfig
from ..errors import ProtocolError
from ..messages import CloseFrame, Data, Message
from ..protocol.connection import WebSocketProtocol, check_control_payload

if TYPE_CHECKING:
    from ..protocol.deflate import PerMessageDeflate

__all__ = ["Connection"]

FRAME_BUDGET = 512
"""Frames parsed per step of the event loop: a flood of tiny frames (a 256 KiB read holds
131,072 pings) is handled over many steps, so other tasks run within a few ms."""
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
        self._init_base(config, AsyncioRuntime(loop), OPEN)
        self._loop = loop
        self._transport = transport
        self._protocol = WebSocketProtocol(
            transport.write,
            max_message_size=config.max_message_size,
            deflate=deflate,
            on_message=self._enqueue,
            on_pong=self._on_pong,
            on_close=self._on_close_frame,
            frame_budget=FRAME_BUDGET,
        )
        transport.set_write_buffer_limits(high=config.write_limit)
        self._queue_limit = config.max_queue
        self._resume_at = config.max_queue >> 2
        # reading is paused while the queue is full (_queue_paused) or while the rest of a
        # read waits for the next loop step (_budget_paused)
        self._budget_paused = False
        self._write_paused = False
        self._drain_waiters: list[asyncio.Future[None]] = []
        self._pings: dict[bytes, tuple[asyncio.Future[float], float]] = {}
        self._ping_counter = 0
        self._time = loop.time
        self.subprotocol = subprotocol
        self.response_headers = response_headers

    # ---- asyncio.Protocol callbacks -------------------------------------------------
    def data_received(self, data: bytes) -> None:
        self.last_received = self._time()
        if self._feed(data):
            # the frame budget is spent: the rest waits for the next loop step, unread
            if not self._budget_paused:
                self._budget_paused = True
                self._loop.call_soon(self._go_on)
            self._reading_changed()

    def _go_on(self) -> None:
        """Next loop step after a spent frame budget: parse the rest of the read, in order."""
        if self._state == CLOSED:
            return  # aborted; connection_lost parsed what had arrived
        if self._feed(b""):
            self._loop.call_soon(self._go_on)
        else:
            self._budget_paused = False
            self._reading_changed()

    def _feed(self, data: bytes) -> bool:
        """Parse ``data``; True when bytes are left over for another step."""
        try:
            return self._protocol.receive_data(data)
        except ProtocolError as exc:
            self.close_error = exc
            self.close_code, self.close_reason = exc.close_code, ""  # what we sent
            self._end_input()
            return False

    def _reading_changed(self) -> None:
        # asks the transport, not a flag of ours: the opening handshake pauses and resumes
        # it too (it resumes when not reading_paused)
        if self._state == CLOSED:
            return
        paused = self._queue_paused or self._budget_paused
        if paused == self._transport.is_reading():
            if paused:
                self._transport.pause_reading()
            else:
                self._transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._state != CLOSED:  # not aborted: what was read still counts, in order
            while self._feed(b""):
                pass
        self._finish()
        for future, _ in self._pings.values():
            if not future.done():
                future.set_exception(self._closed_error())
        self._pings.clear()
        self._wake_writers()

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        self._wake_writers()

    # ---- receiving ------------------------------------------------------------------
    def _on_queue_full(self) -> None:
        if self._state == OPEN:  # closing: read on, to reach the peer's close frame
            self._queue_paused = True
            self._reading_changed()

    def set_message_handler(self, handler: MessageHandler | None) -> None:
        """Deliver each message to ``handler(message)`` straight from the parser (None:
        back to the ``recv()`` queue). Messages already queued go to the handler first."""
        if handler is None:
            self._protocol.on_message = self._enqueue
            return
        while self._queue:
            handler(self._queue.popleft())
        self._protocol.on_message = handler
        self._read_to_close()  # nothing is queued any more: read on

    async def send(self, message: Data) -> None:
        """Send ``str`` as a text message, ``bytes``-like as binary; waits while the
        transport's write buffer is above ``write_limit``."""
        if self._state != OPEN:
            raise self._closed_error()
        self._protocol.send(message)
        if self._write_paused:
            waiter = self._loop.create_future()
            self._drain_waiters.append(waiter)
            await waiter
            if self._state == CLOSED:
                raise self._closed_error()

    def send_nowait(self, message: Data) -> None:
        """Send at once, from code that cannot await (a ``set_message_handler`` callback).

        Unlike ``send()`` it never waits for the write buffer to drain below ``write_limit``:
        what the peer has not read yet stays buffered in memory. Check ``write_paused`` (or
        use ``await send()`` where you can) when the peer may be slower than you.
        """
        if self._state != OPEN:
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
        """Send a ping and return the round-trip time in seconds when its pong arrives.

        ``data`` (bytes, at most 125) must differ from every ping still waiting for its pong;
        by default a counter. TypeError or ValueError for another payload, before anything
        is sent.
        """
        if data is not None:
            data = check_control_payload(data)
        if self._state != OPEN:
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
    def _send_close(self, code: int, reason: str) -> None:
        self._protocol.send_close(code, reason)

    def _read_to_close(self) -> None:
        # the peer's close frame may sit behind the unread messages: read on to reach it
        if self._queue_paused:
            self._queue_paused = False
            self._reading_changed()

    def abort(self) -> None:
        """Drop the connection at once, without a close handshake (close code 1006)."""
        if self._state != CLOSED:
            # closed now, not when connection_lost runs on the next loop step: a send() in
            # between must raise rather than write to a dead transport
            self._mark_closed()
            self._transport.abort()

    def _on_close_frame(self, frame: CloseFrame) -> None:
        self.close_code, self.close_reason = frame.code, frame.reason
        self._end_input()

    @property
    def reading_paused(self) -> bool:
        """True while the transport has stopped reading: the queue is full, or the rest of
        a long read waits for the next step of the event loop."""
        return self._queue_paused or self._budget_paused
