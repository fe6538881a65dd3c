"""The client's current connection, and waiting for one: for a usable connection
(``send()``), for the next opened connection (``connect()``), and the end-of-stream check of
readers. The supervisor reports each connection's progress here.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import TypeVar

from .. import _runtime
from ..errors import WebSocketTimeout
from ..state import Closing
from .contract import Connection
from .lifecycle import Lifecycle

__all__ = ["Link"]

T = TypeVar("T")
# Set while on_open handlers run, so that their sends go out before the queued ones.
_OPENING: contextvars.ContextVar[object] = contextvars.ContextVar("omniws_opening", default=None)


class Link:
    """Which connection the client is on, and whether queued sends may use it yet."""

    def __init__(self, lifecycle: Lifecycle) -> None:
        self.lifecycle = lifecycle
        self.current: Connection | None = None
        self._ready = False  # on_open has run on current: queued sends may go
        self._opened = 0  # connections whose on_open has run (not cut short by close())

    def attach(self, conn: Connection) -> None:
        """``conn`` just opened; ``on_open`` has not run yet."""
        self.current, self._ready = conn, False

    def opening(self, conn: Connection) -> contextvars.Token[object]:
        """Mark the running task as ``conn``'s ``on_open``: its sends go out at once. Pass the
        token to :meth:`opened`."""
        return _OPENING.set(conn)

    def opened(self, conn: Connection, token: contextvars.Token[object], counted: bool) -> None:
        """``on_open`` has run on ``conn``: queued sends may go (``counted``: it was not cut
        short by ``close()``)."""
        _OPENING.reset(token)
        if counted:
            self._opened += 1
            self._ready = conn.close_code is None
            self.lifecycle.notify()

    def detach(self) -> None:
        """The current connection has ended."""
        self.current, self._ready = None, False
        self.lifecycle.notify()

    def usable(self) -> Connection | None:
        """The connection sends may use now: open, and ``on_open`` done (or running here)."""
        conn = self.current
        if conn is not None and conn.close_code is None and (self._ready or _OPENING.get() is conn):
            return conn
        return None

    def raise_if_drained(self) -> None:
        """For readers: raise once the client has stopped, except that a ``Closing`` client
        still receives until its connection has ended (the peer may send until it answers)."""
        conn = self.current
        closing = isinstance(self.lifecycle.state, Closing)
        if not (closing and conn is not None and conn.close_code is None):
            self.lifecycle.raise_if_stopped()

    async def wait_ready(self, timeout: float | None, operation: str) -> Connection:
        """Wait for a usable connection (for ``send()``)."""
        return await self._wait_until(self.usable, timeout, operation)

    async def wait_opened(self, timeout: float | None, operation: str) -> None:
        """Wait until a connection is usable, or one opened (``on_open`` ran) since the call,
        even if it has ended since: its messages stay readable (``connect()``)."""
        since = self._opened

        def opened() -> bool | None:
            return True if self._opened > since or self.usable() is not None else None

        await self._wait_until(opened, timeout, operation)

    async def _wait_until(
        self, ready: Callable[[], T | None], timeout: float | None, operation: str
    ) -> T:
        runtime = _runtime.current()
        deadline = runtime.time() + (timeout or 0.0)
        while True:
            result = ready()
            if result is not None:
                return result
            self.lifecycle.raise_if_stopped()
            remaining = None
            if timeout is not None:
                remaining = deadline - runtime.time()
                if remaining <= 0:
                    hint = "the client is still (re)connecting"
                    raise WebSocketTimeout(operation, timeout, hint=hint)
            await runtime.wait_all((self.lifecycle.changed(),), remaining)
