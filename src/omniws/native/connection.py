"""The CPython connection: an asyncio.Protocol that drives the sans-I/O core.

One object per connection, with no task of its own: bytes arrive in ``data_received``,
are parsed there, and complete messages either go straight to a message handler or
into a bounded queue that ``recv()`` reads without a task switch when it is not empty.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from .._connection_base import CLOSED, OPEN
from .._driven import DrivenConnection
from .._runtime import AsyncioRuntime
from ..config import WebSocketConfig
from ..messages import Data

if TYPE_CHECKING:
    from ..protocol.deflate import PerMessageDeflate

__all__ = ["Connection"]

FRAME_BUDGET = 512
"""Frames parsed per step of the event loop: a flood of tiny frames (a 256 KiB read holds
131,072 pings) is handled over many steps, so other tasks run within a few ms."""


class Connection(DrivenConnection, asyncio.Protocol):
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
        self._init_driven(transport.write, deflate, FRAME_BUDGET)
        transport.set_write_buffer_limits(high=config.write_limit)
        # reading is paused while the queue is full (_queue_paused) or while the rest of a
        # read waits for the next loop step (_budget_paused)
        self._budget_paused = False
        self._write_paused = False
        self._drain_waiters: list[asyncio.Future[None]] = []
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
        self._end_pings()
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

    # ---- closing --------------------------------------------------------------------
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

    @property
    def reading_paused(self) -> bool:
        """True while the transport has stopped reading: the queue is full, or the rest of
        a long read waits for the next step of the event loop."""
        return self._queue_paused or self._budget_paused
