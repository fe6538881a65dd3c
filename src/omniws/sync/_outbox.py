"""Messages on their way from the sending threads to the loop thread, in order.

Senders append under a lock and ``kick`` one flush per batch (not per message): the owner
of the connection writes it directly when the event loop is free, else schedules it there.
The loop writes each message whole, so messages from different threads never interleave.
Once more than ``limit`` bytes wait (the socket is not draining), senders block until the
backlog is below it again: the same backpressure as ``await send()``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections import deque
from collections.abc import Awaitable, Callable

from ..errors import WebSocketError
from ..messages import Data

__all__ = ["Outbox", "check_data"]

logger = logging.getLogger("omniws.sync")
_Item = tuple[Data, int, "concurrent.futures.Future[None] | None"]


def check_data(data: object) -> tuple[Data, int]:
    """The message to queue (mutable buffers copied) and its size, or a TypeError."""
    if isinstance(data, str | bytes):
        return data, len(data)
    if isinstance(data, bytearray | memoryview):
        copy = bytes(data)
        return copy, len(copy)
    raise TypeError(
        f"send() takes str (a text message) or bytes (binary), got {type(data).__name__}"
    )


class Outbox:
    """``write_nowait(data)`` writes at once, or returns False when the message must go
    through the awaitable ``write(data)`` (a task then writes the rest); ``kick()`` gets
    :meth:`flush` called, by the caller or on the loop."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        limit: int,
        write_nowait: Callable[[Data], bool],
        write: Callable[[Data], Awaitable[None]],
        kick: Callable[[], None],
    ) -> None:
        self._loop = loop
        self._limit = limit
        self._write_nowait = write_nowait
        self._write = write
        self._kick = kick
        self._lock = threading.Lock()
        self._items: deque[_Item] = deque()
        self._bytes = 0
        self._busy = False  # a flush callback or a writer task is scheduled or running
        self._room = threading.Event()
        self._room.set()
        self._idle: list[asyncio.Future[None]] = []
        self.error: WebSocketError | None = None

    def put(self, data: Data, size: int, *, wait: bool = False, block: bool = True) -> None:
        """Queue ``data``. ``wait``: until it is written (raising its error); ``block``: while
        the backlog is over the limit. Any thread; the loop thread passes block=False."""
        done: concurrent.futures.Future[None] | None = concurrent.futures.Future() if wait else None
        with self._lock:
            if self.error is not None:
                raise self.error
            self._items.append((data, size, done))
            self._bytes += size
            if self._bytes > self._limit:
                self._room.clear()
            schedule = not self._busy
            self._busy = True
        if schedule:
            self._kick()
        if done is not None:
            done.result()
        elif block and not self._room.is_set():
            self._room.wait()
            if self.error is not None:
                raise self.error

    def end(self, error: WebSocketError) -> None:
        """The connection is gone: fail waiting senders and drop what was not written."""
        with self._lock:
            if self.error is None:
                self.error = error
            items, self._items = self._items, deque()
            self._bytes = 0
            self._room.set()
        for _, _, done in items:
            if done is not None and not done.done():
                done.set_exception(error)

    async def drained(self) -> None:
        """Wait (on the loop) until everything queued so far was written or dropped."""
        if self._busy:
            future = self._loop.create_future()
            self._idle.append(future)
            await future

    # --- loop side ------------------------------------------------------------------------
    def _pop(self) -> _Item | None:
        with self._lock:
            if not self._items:
                self._busy = False
                idle, self._idle = self._idle, []
                for future in idle:
                    if not future.done():
                        future.set_result(None)
                return None
            item = self._items.popleft()
            self._bytes -= item[1]
            if self._bytes <= self._limit:
                self._room.set()
            return item

    @property
    def busy(self) -> bool:
        """Messages are queued, or a task is writing them: the loop has work to do."""
        return self._busy

    def flush(self) -> None:
        """Write what is queued; run by whoever holds the event loop."""
        write_nowait = self._write_nowait
        while (item := self._pop()) is not None:
            data, _, done = item
            if done is None:
                try:
                    if write_nowait(data):
                        continue
                except WebSocketError as exc:
                    logger.debug("message dropped: %s", exc)
                    continue
            self._loop.create_task(self._write_rest(item))
            return

    async def _write_rest(self, item: _Item | None) -> None:
        while item is not None:
            data, _, done = item
            try:
                await self._write(data)
            except Exception as exc:
                if done is None:
                    logger.debug("message dropped: %s", exc)
                elif not done.done():
                    done.set_exception(exc)
            else:
                if done is not None and not done.done():
                    done.set_result(None)
            item = self._pop()
