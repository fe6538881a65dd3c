"""What every platform's Connection shares: iteration, context management, waiting."""

from __future__ import annotations

import asyncio
from typing import TypeVar

from .errors import ConnectionClosed
from .messages import CloseFrame, Data, Message

__all__ = ["ConnectionBase"]

_C = TypeVar("_C", bound="ConnectionBase")


class ConnectionBase:
    """Base of the native and the Pyodide Connection (docs/INTERNALS.md).

    Subclasses set ``_closed`` (resolved with how the connection ended) and ``_waiter`` (the
    future a waiting ``recv()`` sleeps on), and implement ``recv``, ``send`` and ``close``.
    """

    _closed: asyncio.Future[CloseFrame]
    _waiter: asyncio.Future[None] | None

    async def recv(self) -> Message:
        raise NotImplementedError

    async def send(self, message: Data) -> None:
        raise NotImplementedError

    async def close(self, code: int = 1000, reason: str = "") -> None:
        raise NotImplementedError

    def __aiter__(self: _C) -> _C:
        return self

    async def __anext__(self) -> Message:
        try:
            return await self.recv()
        except ConnectionClosed as exc:
            if exc.code in (1000, 1001):
                raise StopAsyncIteration from None
            raise

    async def wait_closed(self) -> CloseFrame:
        """Wait until the connection has ended, for any reason; return how it ended."""
        return await asyncio.shield(self._closed)

    def _new_waiter(self) -> asyncio.Future[None]:
        """The future a ``recv()`` sleeps on until a message is queued or the connection
        ends; one reader at a time. (A future, not a coroutine: no extra frame per wait.)"""
        if self._waiter is not None:
            raise RuntimeError("recv() is already waiting in another task; read from one task")
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiter = waiter
        return waiter

    def _wake_reader(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def __aenter__(self: _C) -> _C:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
