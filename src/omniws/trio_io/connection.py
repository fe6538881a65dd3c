"""The connection under trio: a trio stream driving the sans-I/O core.

One reader task (a system task, so it outlives the call that opened the connection)
receives from the stream (on plain TCP: from the socket, see :func:`_receive_socket`) and
feeds the protocol; complete messages go to the ``recv()`` queue (or a message handler)
exactly as on asyncio. Writes go through
:class:`~omniws.trio_io.writer.Writer`: ``send()`` writes to the socket itself when no
other task is writing, so an echo costs no extra task switch.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

import trio

from .._connection_base import CLOSED, OPEN
from .._driven import DrivenConnection
from ..config import WebSocketConfig
from ..messages import CloseFrame, Data
from .runtime import TRIO, TrioTask
from .writer import Writer, socket_of

if TYPE_CHECKING:
    from ..protocol.deflate import PerMessageDeflate

__all__ = ["FRAME_BUDGET", "Connection"]

FRAME_BUDGET = 512
"""Frames parsed before the reader lets other tasks run (as on asyncio)."""
READ_SIZE = 65536
_STREAM_ERRORS = (trio.BrokenResourceError, trio.ClosedResourceError, OSError)


async def _receive_socket(raw: socket.socket) -> bytes:
    """The next bytes of a plain TCP socket (b"" at its end). Waits for readability first:
    ``SocketStream.receive_some()`` tries ``recv`` first, which fails every time when the
    peer answers what was just sent. Raises ClosedResourceError once ``raw`` is closed
    (``Writer.stop()`` tells trio first, which wakes a wait at once)."""
    while True:
        if raw.fileno() == -1:
            raise trio.ClosedResourceError("the connection's socket is closed")
        await trio.lowlevel.wait_readable(raw)
        try:
            return raw.recv(READ_SIZE)
        except (BlockingIOError, InterruptedError):
            pass  # readable, then not: wait again


class Connection(DrivenConnection):
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
        self._init_driven(self._writer.write, deflate, FRAME_BUDGET)
        self._budget_paused = False
        self._resume = trio.Event()  # set when reading may go on after a full queue
        self._reader: TrioTask[None] | None = None
        self.subprotocol = subprotocol
        self.response_headers = response_headers

    def _start(self, rest: bytes) -> None:
        """Start reading; ``rest``: bytes that arrived with the handshake's answer."""
        self._reader = TRIO.spawn(self._read(rest), "omniws reader")

    # ---- reading --------------------------------------------------------------------
    async def _read(self, rest: bytes) -> None:
        stream = self._stream
        raw = self._writer.raw  # plain TCP: read the socket itself
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
                received: bytes | bytearray
                if raw is not None:
                    received = await _receive_socket(raw)
                else:
                    received = await stream.receive_some(READ_SIZE)
                if not received:
                    break
                # TLS hands out bytearrays
                data = received if type(received) is bytes else bytes(received)
        except _STREAM_ERRORS:
            pass
        finally:
            self._writer.stop()
            with trio.CancelScope(shield=True):  # aborted: the reader's scope is cancelled
                await trio.aclose_forcefully(stream)
            self._finish()
            self._end_pings()

    async def _feed_all(self, data: bytes) -> None:
        more = self._feed(data)
        while more:
            self._budget_paused = True
            await trio.lowlevel.checkpoint()
            if self._state == CLOSED:
                break
            more = self._feed(b"")
        self._budget_paused = False

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

    @property
    def reading_paused(self) -> bool:
        """True while the reader has stopped: the queue is full, or the rest of a long read
        waits for other tasks to run."""
        return self._queue_paused or self._budget_paused

    # ---- sending --------------------------------------------------------------------
    async def send(self, message: Data) -> None:
        """Send ``str`` as a text message, ``bytes``-like as binary; waits while more than
        ``write_limit`` bytes wait to be written.

        A send() cancelled before it starts sends nothing; one cancelled while its message
        is being written still delivers the message whole (a frame is never cut short)."""
        if self._state != OPEN:
            raise self._closed_error()
        await trio.lowlevel.checkpoint_if_cancelled()
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

    def _wrote(self) -> None:
        self._writer.kick()

    # ---- closing --------------------------------------------------------------------
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
            sock.close()  # TLS: the reader's receive ends now, with ClosedResourceError
        self._writer.stop()  # plain TCP: closes the socket the reader waits on
        if self._reader is not None:
            self._reader.cancel()
