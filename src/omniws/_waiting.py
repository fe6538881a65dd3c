"""Waiting on the supervisor's state: for a usable connection (``send()``), for the next
opened connection (``connect()``), and the end-of-stream checks of readers."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from typing import TypeVar, cast

from ._events import Connection
from .errors import ConnectionClosed, WebSocketTimeout
from .messages import CloseFrame
from .state import Closing, ConnectionState, Disconnected, Failed

T = TypeVar("T")
# Set while on_open handlers run, so that their sends go out before the queued ones.
OPENING: contextvars.ContextVar[object] = contextvars.ContextVar("omniws_opening", default=None)


class Waiting:
    """The state a waiter looks at, and the future that wakes it on every change. The
    supervisor keeps these up to date and calls ``_notify()`` after each change."""

    def __init__(self) -> None:
        self._state: ConnectionState = Disconnected()
        self._supervisor: asyncio.Task[None] | None = None
        self._changed: asyncio.Future[None] | None = None
        self._conn: Connection | None = None
        self._ready = False  # on_open has run on self._conn: queued sends may go
        self._opened = 0  # connections whose on_open has run (not cut short by close())
        self._end_frame: CloseFrame | None = None

    def _notify(self) -> None:
        fut = self._changed
        if fut is not None:
            self._changed = None
            if not fut.done():
                fut.set_result(None)

    def _change(self) -> asyncio.Future[None]:
        if self._changed is None:
            self._changed = asyncio.get_running_loop().create_future()
        return self._changed

    def _raise_if_stopped(self) -> None:
        state = self._state
        if isinstance(state, Failed):
            raise state.error
        if isinstance(state, Disconnected | Closing):
            frame = self._end_frame or CloseFrame(1000)
            started = self._supervisor is not None
            detail = "the client is closed" if started else "call connect() first"
            raise ConnectionClosed(frame.code, frame.reason, detail=detail)

    def _raise_if_drained(self) -> None:
        """For readers: like ``_raise_if_stopped``, but a ``Closing`` client still receives
        until its connection has ended (the peer may send until it answers the close)."""
        conn = self._conn
        if not (isinstance(self._state, Closing) and conn is not None and conn.close_code is None):
            self._raise_if_stopped()

    def _usable(self) -> Connection | None:
        """The connection sends may use now: open, and ``on_open`` done (or running here)."""
        conn = self._conn
        if conn is not None and conn.close_code is None and (self._ready or OPENING.get() is conn):
            return conn
        return None

    async def _wait_ready(self, timeout: float | None, operation: str) -> Connection:
        """Wait for a usable connection (for ``send()``)."""
        return await self._wait_until(self._usable, timeout, operation)

    async def _wait_opened(self, timeout: float | None, operation: str) -> None:
        """Wait until a connection is usable, or one opened (``on_open`` ran) since the call,
        even if it has ended since: its messages stay readable (``connect()``)."""
        since = self._opened

        def opened() -> bool | None:
            return True if self._opened > since or self._usable() is not None else None

        await self._wait_until(opened, timeout, operation)

    async def _wait_until(
        self, ready: Callable[[], T | None], timeout: float | None, operation: str
    ) -> T:
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            result = ready()
            if result is not None:
                return result
            self._raise_if_stopped()
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                hint = "the client is still (re)connecting"
                raise WebSocketTimeout(operation, cast(float, timeout), hint=hint)
            await asyncio.wait({self._change()}, timeout=remaining)
