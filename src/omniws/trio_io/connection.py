"""The connection under trio: a trio stream driving the sans-I/O core.

One reader task (a system task, so it outlives the call that opened the connection)
receives from the stream and feeds the protocol; complete messages go to the ``recv()``
queue (or a message handler) exactly as on asyncio. Writes go through
:class:`~omniws.trio_io.writer.Writer`: ``send()`` writes to the socket itself when no
other task is writing, so an echo costs no extra task switch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import trio

from .._connection_base import CLOSED, OPEN, ConnectionBase
from ..config import WebSocketConfig
from ..errors import ProtocolError
from ..messages import CloseFrame, Data, Message
from ..protocol.connection import WebSocketProtocol, check_control_payload
from .runtime import TRIO, TrioSignal, TrioTask
from .writer import Writer, socket_of

if TYPE_CHECKING:
    from ..protocol.deflate import PerMessageDeflate

__all__ = ["FRAME_BUDGET", "Connection"]

FRAME_BUDGET = 512
"""Frames parsed before the reader lets other tasks run (as on asyncio)."""
READ_SIZE = 65536
MessageHandler = Callable[[Message], object]
_STREAM_ERRORS = (trio.BrokenResourceError, trio.ClosedResourceError, OSError)


class Connection(ConnectionBase):
    """An open WebSocket connection under trio. Get one from :func:`omniws.connect`."""

    def __init__(
        self,
        config: WebSocketConfig,
        stream: trio.abc.Stream,
        subprotocol: str | None,
        response_headers: dict[str, str],
        deflate: PerMessageDeflate | None,
    ) -> None:
        self._init_base(config, TRIO, OPEN)
        self._stream = stream
        self._writer = Writer(stream, config.write_limit, self._write_failed)
        self._protocol = WebSocketProtocol(
            self._writer.write,
            max_message_size=config.max_message_size,
            deflate=deflate,
            on_message=self._enqueue,
            on_pong=self._on_pong,
            on_close=self._on_close_frame,
            frame_budget=FRAME_BUDGET,
        )
        self._queue_limit = config.max_queue
        self._resume_at = config.max_queue >> 2
        self._budget_paused = False
        self._resume = trio.Event()  # set when reading may go on after a full queue
        self._pings: dict[bytes, tuple[TrioSignal, float]] = {}
        self._pong_times: dict[bytes, float] = {}
        self._ping_counter = 0
        self._reader: TrioTask[None] | None = None
        self.subprotocol = subprotocol
        self.response_headers = response_headers

    def _start(self, rest: bytes) -> None:
        """Start reading; ``rest``: bytes that arrived with the handshake's answer."""
        self._reader = TRIO.spawn(self._read(rest), "omniws reader")  # type: ignore[assignment]

    # ---- reading --------------------------------------------------------------------
    async def _read(self, rest: bytes) -> None:
        stream = self._stream
        try:
            data = rest
            while True:
                if data:
                    self.last_received = trio.current_time()
                    await self._feed_all(data)
                    self._writer.kick()  # pongs, a close reply, send_nowait() from handlers
                while self._queue_paused:
                    self._resume = trio.Event()
                    await self._resume.wait()
                received = await stream.receive_some(READ_SIZE)
                if not received:
                    break
                # TLS hands out bytearrays
                data = received if type(received) is bytes else bytes(received)
        except _STREAM_ERRORS:
            pass
        finally:
            self._writer.stop()
            await trio.aclose_forcefully(stream)
            self._lost()

    async def _feed_all(self, data: bytes) -> None:
        more = self._feed(data)
        while more:
            self._budget_paused = True
            await trio.lowlevel.checkpoint()
            if self._state == CLOSED:
                break
            more = self._feed(b"")
        self._budget_paused = False

    def _feed(self, data: bytes) -> bool:
        """Parse ``data``; True when bytes are left over for another step."""
        try:
            return self._protocol.receive_data(data)
        except ProtocolError as exc:
            self.close_error = exc
            self.close_code, self.close_reason = exc.close_code, ""  # what we sent
            self._end_input()
            return False

    def _lost(self) -> None:
        self._finish()
        for signal, _ in self._pings.values():
            signal.set_result(None)  # no pong time: ping() raises the closed error
        self._pings.clear()

    def _reading_changed(self) -> None:
        if not self._queue_paused:
            self._resume.set()

    def _on_queue_full(self) -> None:
        if self._state == OPEN:  # closing: read on, to reach the peer's close frame
            self._queue_paused = True

    def _read_to_close(self) -> None:
        if self._queue_paused:
            self._queue_paused = False
            self._resume.set()

    def set_message_handler(self, handler: MessageHandler | None) -> None:
        """Deliver each message to ``handler(message)`` straight from the parser, in the
        reader task (None: back to the ``recv()`` queue). Messages already queued go to the
        handler first."""
        if handler is None:
            self._protocol.on_message = self._enqueue
            return
        while self._queue:
            handler(self._queue.popleft())
        self._protocol.on_message = handler
        self._read_to_close()  # nothing is queued any more: read on

    @property
    def reading_paused(self) -> bool:
        """True while the reader has stopped: the queue is full, or the rest of a long read
        waits for other tasks to run."""
        return self._queue_paused or self._budget_paused

    # ---- sending --------------------------------------------------------------------
    async def send(self, message: Data) -> None:
        """Send ``str`` as a text message, ``bytes``-like as binary; waits while more than
        ``write_limit`` bytes wait to be written.

        A send() cancelled while its message is being written still delivers the message
        whole (what is buffered is never cut short), as on asyncio."""
        if self._state != OPEN:
            raise self._closed_error()
        self._protocol.send(message)
        if not await self._writer.flush():
            raise self._closed_error()

    def send_nowait(self, message: Data) -> None:
        """Send at once, from code that cannot await (a ``set_message_handler`` callback).

        Never waits for ``write_limit``: what the peer has not read yet stays buffered in
        memory. Check ``write_paused`` (or use ``await send()``) when the peer may be slow.
        """
        if self._state != OPEN:
            raise self._closed_error()
        self._protocol.send(message)
        self._writer.kick()

    @property
    def write_paused(self) -> bool:
        """True while more than ``write_limit`` bytes wait to be written."""
        return self._writer.paused

    def _write_failed(self) -> None:
        self.abort()

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
        signal = TrioSignal()
        self._pings[data] = (signal, trio.current_time())
        self._protocol.send_ping(data)
        self._writer.kick()
        try:
            await signal
        finally:
            if not signal.done():  # cancelled: forget it (a late pong is ignored)
                self._pings.pop(data, None)
        rtt = self._pong_times.pop(data, None)
        if rtt is None:
            raise self._closed_error()
        return rtt

    def _on_pong(self, payload: bytes) -> None:
        if payload not in self._pings:
            return
        now = trio.current_time()
        # a pong answers its ping and every ping sent before it (RFC 6455 5.5.3)
        for key in list(self._pings):
            signal, sent = self._pings.pop(key)
            self._pong_times[key] = now - sent
            signal.set_result(None)
            if key == payload:
                break

    # ---- closing --------------------------------------------------------------------
    def _send_close(self, code: int, reason: str) -> None:
        self._protocol.send_close(code, reason)
        self._writer.kick()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close with ``code`` and ``reason`` (at most 123 UTF-8 bytes) and wait for the close
        handshake (at most ``close_timeout``); no task of the connection runs once it
        returns. Safe to call more than once."""
        await super().close(code, reason)
        await self._settled()

    async def wait_closed(self) -> CloseFrame:
        """Wait until the connection has ended, for any reason; return how it ended."""
        frame = await super().wait_closed()
        await self._settled()
        return frame

    async def _settled(self) -> None:
        """Wait until the reader and the writer have ended (they end with the stream)."""
        tasks = [task for task in (self._reader, self._writer.task) if task is not None]
        await TRIO.wait_all(tasks, None)
        await trio.lowlevel.checkpoint()  # a cancelled close timer ends in this step

    def abort(self) -> None:
        """Drop the connection at once, without a close handshake (close code 1006)."""
        if self._state == CLOSED:
            return
        self._mark_closed()
        sock = socket_of(self._stream)
        if sock is not None:
            sock.close()  # the reader's receive ends now, with ClosedResourceError
        self._writer.stop()
        if self._reader is not None:
            self._reader.cancel()

    def _on_close_frame(self, frame: CloseFrame) -> None:
        self.close_code, self.close_reason = frame.code, frame.reason
        self._end_input()
