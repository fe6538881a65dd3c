"""Support for the supervisor: the Connection contract, event handlers and their dispatch,
statistics. Public names are re-exported by :mod:`omniws.client`."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from .config import WebSocketConfig
from .errors import WebSocketError
from .messages import CloseFrame, Data, Message
from .state import ConnectionState

__all__ = [
    "ClientStats",
    "Connection",
    "EventHandlers",
    "HandlerError",
    "OpenConnection",
]

logger = logging.getLogger("omniws.client")

OpenHandler = Callable[[], object]
MessageHandler = Callable[[Message], object]
CloseHandler = Callable[[CloseFrame], object]
ErrorHandler = Callable[[WebSocketError], object]
StateHandler = Callable[[ConnectionState], object]


class Connection(Protocol):
    """What the supervisor needs from a connection (docs/INTERNALS.md): native.py and wasm.py
    provide it, tests provide a fake."""

    @property
    def last_received(self) -> float:
        """``loop.time()`` of the last inbound bytes (any frame)."""

    @property
    def close_code(self) -> int | None:
        """None while the connection is open."""

    @property
    def close_error(self) -> WebSocketError | None:
        """The error that ended the connection, if any."""

    @property
    def subprotocol(self) -> str | None:
        """The subprotocol the server chose, if any."""

    @property
    def response_headers(self) -> dict[str, str]:
        """The handshake response headers, lower-case names."""

    def set_message_handler(self, handler: Callable[[Message], object] | None) -> None:
        """Route each message to ``handler`` from the parser, or (None) to ``recv()``."""

    async def send(self, data: Data) -> None:
        """Send one message: ``str`` as text, bytes-like as binary."""

    async def recv(self) -> Message:
        """The next buffered message; ConnectionClosed once closed and drained."""

    async def ping(self) -> float:
        """Send a ping and return the round-trip time in seconds."""

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Run the close handshake (bounded by close_timeout)."""

    async def wait_closed(self) -> CloseFrame:
        """Resolve when the connection has ended, for any reason."""

    def abort(self) -> None:
        """Drop the transport at once (close code 1006)."""


OpenConnection = Callable[[WebSocketConfig], Awaitable[Connection]]
"""``open_connection(config) -> Connection``: how the supervisor opens each connection."""


class HandlerError(WebSocketError):
    """An event handler raised; the original exception is ``__cause__``.

    Reported to ``on_error`` and the log; the client keeps running.
    """

    recoverable = True

    def __init__(self, event: str, handler: Callable[..., object], exc: BaseException) -> None:
        name = getattr(handler, "__qualname__", repr(handler))
        super().__init__(f"{event} handler {name} raised {exc!r}; the client keeps running")
        self.event = event
        self.handler = handler
        self.__cause__ = exc


@dataclass
class EventHandlers:
    """Event handlers given at construction; each a plain or an async function, or None.

    The decorators of :class:`~omniws.WebSocketClient` (``@client.on_message``...) add more.
    """

    on_open: OpenHandler | None = None
    on_message: MessageHandler | None = None
    on_close: CloseHandler | None = None
    on_error: ErrorHandler | None = None
    on_state_change: StateHandler | None = None


@dataclass(frozen=True)
class ClientStats:
    """A snapshot of a client's counters (``client.stats``).

    Bytes are payload bytes (UTF-8 for text), before compression. ``connected_time`` is the
    total time spent connected, the current connection included; ``last_rtt`` the round-trip
    time of the last heartbeat ping, in seconds (None before the first one).
    """

    messages_in: int = 0
    bytes_in: int = 0
    messages_out: int = 0
    bytes_out: int = 0
    connections: int = 0
    reconnects: int = 0
    connected_time: float = 0.0
    last_rtt: float | None = None


def payload_size(message: Data) -> int:
    """Payload bytes of a message: UTF-8 length for text (cheap for ASCII)."""
    if isinstance(message, str):
        return len(message) if message.isascii() else len(message.encode("utf-8"))
    if isinstance(message, memoryview):
        return message.nbytes
    return len(message)


class Dispatcher:
    """Calls handlers and reports what they raise.

    Sync handlers run at once; async handlers of ``on_close``, ``on_error`` and
    ``on_state_change`` run in order on one event task, which exists only while it has work.
    """

    def __init__(self, handlers: EventHandlers | None) -> None:
        events = ("on_open", "on_message", "on_close", "on_error", "on_state_change")
        self.lists: dict[str, list[Callable[..., object]]] = {name: [] for name in events}
        if handlers is not None:
            for name, handlers_list in self.lists.items():
                handler = getattr(handlers, name)
                if handler is not None:
                    handlers_list.append(handler)
        self._pending: deque[tuple[str, Callable[..., object], tuple[Any, ...]]] = deque()
        self._task: asyncio.Task[None] | None = None

    def add(self, event: str, handler: Callable[..., object]) -> None:
        """Register one more handler for ``event``."""
        if not callable(handler):
            raise TypeError(f"{event} handler must be callable, got {handler!r}")
        self.lists[event].append(handler)

    def has_async(self, event: str) -> bool:
        """True when an ``event`` handler is an async function."""
        return any(inspect.iscoroutinefunction(h) for h in self.lists[event])

    def report(self, error: WebSocketError) -> None:
        """Log ``error`` (when it comes from a handler) and pass it to ``on_error``."""
        if isinstance(error, HandlerError):
            logger.error("%s", error, exc_info=error.__cause__)
        else:
            logger.info("%s", error)
        for handler in self.lists["on_error"]:
            try:
                result = handler(error)
            except Exception:
                logger.exception("on_error handler %r raised", handler)
                continue
            if inspect.isawaitable(result):
                self._schedule("on_error", _awaiting(result), ())

    def emit(self, event: str, *args: Any) -> None:
        """Run the ``event`` handlers with ``args``: sync ones now, async ones queued."""
        for handler in self.lists[event]:
            if inspect.iscoroutinefunction(handler):
                self._schedule(event, handler, args)
                continue
            try:
                result = handler(*args)
            except Exception as exc:
                self.report(HandlerError(event, handler, exc))
                continue
            if inspect.isawaitable(result):
                self._schedule(event, _awaiting(result), ())

    async def call(self, event: str, *args: Any) -> None:
        """Run the ``event`` handlers now and in order, awaiting async ones (``on_open`` and
        async ``on_message``); exceptions are reported."""
        for handler in self.lists[event]:
            try:
                result = handler(*args)
                if inspect.isawaitable(result):
                    await result
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.report(HandlerError(event, handler, exc))

    def _schedule(self, event: str, handler: Callable[..., object], args: tuple[Any, ...]) -> None:
        self._pending.append((event, handler, args))
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run_pending())

    async def _run_pending(self) -> None:
        try:
            while self._pending:
                event, handler, args = self._pending.popleft()
                if event == "on_error":  # never report an on_error failure to on_error
                    try:
                        await _call(handler, args)
                    except Exception:
                        logger.exception("on_error handler %r raised", handler)
                    continue
                try:
                    await _call(handler, args)
                except Exception as exc:
                    self.report(HandlerError(event, handler, exc))
        finally:
            self._task = None

    async def drain(self, timeout: float) -> None:
        """Wait up to ``timeout`` for queued async handlers, then cancel what is left."""
        task = self._task
        if task is None or task is asyncio.current_task():
            return
        done, _ = await asyncio.wait({task}, timeout=timeout)
        if not done:
            self._pending.clear()
            await stop_task(task)


async def stop_task(task: asyncio.Task[Any], patience: float = 0.5, tries: int = 20) -> None:
    """Cancel ``task`` and wait for its end. A cancellation can be swallowed (by
    ``asyncio.wait_for`` on Python < 3.12 when the awaited result is ready in the same step,
    or by a handler that catches it), so cancel again every ``patience`` seconds; bounded."""
    for _ in range(tries):
        if task.done():
            return
        task.cancel()
        await asyncio.wait({task}, timeout=patience)
    logger.warning("task %r did not stop after %d cancellations", task, tries)


async def _call(handler: Callable[..., object], args: tuple[Any, ...]) -> None:
    result = handler(*args)
    if inspect.isawaitable(result):
        await result


def _awaiting(awaitable: Awaitable[object]) -> Callable[[], Awaitable[object]]:
    return lambda: awaitable
