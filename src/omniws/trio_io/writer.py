"""The one writer of a connection under trio.

The protocol writes synchronously (its ``write`` callback), from ``send()`` and from the
parser (pongs, the close reply); a trio stream takes ``await send_all`` from one task at a
time. So every frame goes into one outgoing buffer, and whoever holds the writer role
empties it: ``send()`` itself when nobody else writes (no task switch per message), else
the writer task, which also flushes what the reader and ``send_nowait()`` buffer. As on
asyncio, ``send()`` returns once its message is written or the buffer holds at most the
write limit, and waits otherwise.

On a plain TCP stream the bytes go to a duplicate of its socket with non-blocking
``send`` calls, waiting for writability only when the kernel's buffer is full: a
cancelled ``send()`` then stops between two ``send`` calls, with the unsent rest still
buffered for the writer task, so a frame is never cut. Other streams (TLS) are written
only by the writer task, through ``send_all``. The connection's reader reads the same
duplicate (:attr:`Writer.raw`); :meth:`Writer.stop` closes it, waking the reader.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

import trio

from .runtime import TRIO, TrioTask

__all__ = ["Writer", "socket_of"]

_YIELD_EVERY = 64  # direct writes between two scheduling points (no task is starved)


def socket_of(stream: trio.abc.Stream) -> trio.socket.SocketType | None:
    """The socket under ``stream`` (through TLS), or None for another kind of stream."""
    for _ in range(8):
        if isinstance(stream, trio.SocketStream):
            return stream.socket
        inner = getattr(stream, "transport_stream", None)
        if not isinstance(inner, trio.abc.Stream):
            return None
        stream = inner
    return None


class Writer:
    """The outgoing buffer of one connection and the role of writing it."""

    def __init__(self, stream: trio.abc.Stream, limit: int, failed: Callable[[], None]) -> None:
        self._stream = stream
        self._raw: socket.socket | None = None
        if isinstance(stream, trio.SocketStream):
            sock = stream.socket
            # a duplicate (of the descriptor, or of the socket on Windows) for direct sends
            self._raw = socket.fromfd(sock.fileno(), sock.family, sock.type, sock.proto)
            self._raw.setblocking(False)
        self._out: list[bytes | memoryview] = []
        self.size = 0  # bytes buffered, not yet written
        self._limit = limit
        self._failed = failed
        self._writing = False
        self._stopped = False
        self._direct = 0
        self._wake = trio.Event()
        self._drained = trio.Event()
        self.task: TrioTask[None] | None = None

    @property
    def raw(self) -> socket.socket | None:
        """The non-blocking duplicate of a plain TCP stream's socket (None on TLS); closed,
        with trio told first, by :meth:`stop`."""
        return self._raw

    def write(self, data: bytes) -> None:
        """Buffer ``data`` (the protocol's write callback)."""
        self._out.append(data)
        self.size += len(data)

    @property
    def paused(self) -> bool:
        """True while more than the limit is buffered."""
        return self.size > self._limit

    async def flush(self) -> bool:
        """Write the buffer from the calling task when nobody else writes a socket; else
        leave it to the writer and wait while more than the limit is buffered.
        False once the stream has failed or was stopped."""
        if self._stopped:
            return False
        if self._raw is not None and not self._writing:
            try:
                await self._write_socket(self._raw, self._limit)
            finally:  # what is left (at most the limit, or cancelled): the writer task's
                self.kick()
            self._direct += 1
            if self._direct >= _YIELD_EVERY:
                self._direct = 0
                await trio.lowlevel.cancel_shielded_checkpoint()
        else:
            self.kick()
            while self.size > self._limit and not self._stopped:
                if self._drained.is_set():
                    self._drained = trio.Event()
                await self._drained.wait()
        return not self._stopped

    def kick(self) -> None:
        """Have the writer task write what is buffered, unless a writer is at it."""
        if self._out and not self._writing and not self._stopped:
            if self.task is None:
                self.task = TRIO.spawn(self._run(), "omniws writer")
            self._wake.set()

    async def _run(self) -> None:
        while not self._stopped:
            await self._wake.wait()
            self._wake = trio.Event()
            if self._writing:
                continue  # the writing task empties the whole buffer
            if self._raw is not None:
                await self._write_socket(self._raw)
            else:
                await self._write_stream()

    def _take(self) -> bytes | memoryview:
        out = self._out
        data = out[0] if len(out) == 1 else b"".join(out)
        out.clear()
        return data

    async def _write_socket(self, raw: socket.socket, keep: int = -1) -> None:
        """Write the buffer; when the kernel takes no more, return once at most ``keep``
        bytes are left, else wait until it does."""
        self._writing = True
        try:
            while self._out and not self._stopped:
                data = self._take()
                try:
                    sent = raw.send(data)
                except BlockingIOError:
                    sent = 0
                except OSError:
                    self._fail()
                    return
                self._sent(sent)
                if sent < len(data):
                    self._out.insert(0, memoryview(data)[sent:])
                    if self.size <= keep:
                        return
                    try:
                        await trio.lowlevel.wait_writable(raw)  # cancellable: nothing lost
                    except trio.ClosedResourceError:
                        return  # stopped (aborted) meanwhile
        finally:
            self._writing = False

    async def _write_stream(self) -> None:
        self._writing = True
        try:
            while self._out and not self._stopped:
                data = self._take()
                try:
                    await self._stream.send_all(data)
                except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                    self._fail()
                    return
                self._sent(len(data))
        finally:
            self._writing = False

    def _sent(self, size: int) -> None:
        self.size -= size
        if self.size <= self._limit:
            self._drained.set()

    def _fail(self) -> None:
        self._failed()  # the connection aborts, which stops this writer
        self.stop()

    def stop(self) -> None:
        """No more writing: the stream is gone. Wakes a waiting ``send()``."""
        if self._stopped:
            return
        self._stopped = True
        self._out.clear()
        self._drained.set()
        if self.task is not None:
            self.task.cancel()
        if self._raw is not None:
            trio.lowlevel.notify_closing(self._raw)
            self._raw.close()
