"""Event handlers: the ones given at construction, and the dispatcher that calls them and
reports what they raise. Public names are re-exported by :mod:`omniws.client`."""

from __future__ import annotations

import inspect
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from .. import _runtime
from .._runtime import Runtime, TaskHandle
from ..errors import HandlerError, WebSocketError
from ..messages import CloseFrame, Message
from ..state import ConnectionState

__all__ = ["Dispatcher", "EventHandlers", "stop_task"]

logger = logging.getLogger("omniws.client")

OpenHandler = Callable[[], object]
MessageHandler = Callable[[Message], object]
CloseHandler = Callable[[CloseFrame], object]
ErrorHandler = Callable[[WebSocketError], object]
StateHandler = Callable[[ConnectionState], object]


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


class Dispatcher:
    """Calls handlers and reports what they raise.

    Sync handlers run at once; async handlers of ``on_close``, ``on_error`` and
    ``on_state_change`` run in order on one event task, which exists only while it has work.
    """

    def __init__(self, handlers: EventHandlers | None) -> None:
        events = ("on_open", "on_message", "on_close", "on_error", "on_state_change")
        self._lists: dict[str, list[Callable[..., object]]] = {name: [] for name in events}
        if handlers is not None and not isinstance(handlers, EventHandlers):
            raise TypeError(f"handlers must be an EventHandlers(...), got {handlers!r}")
        for name in events:
            handler = None if handlers is None else getattr(handlers, name)
            if handler is not None:
                self.add(name, handler)
        self._pending: deque[tuple[str, Callable[..., object], tuple[Any, ...]]] = deque()
        self._task: TaskHandle[None] | None = None

    def add(self, event: str, handler: Callable[..., object]) -> None:
        """Register one more handler for ``event``."""
        if not callable(handler):
            raise TypeError(f"{event} handler must be a function, got {handler!r}")
        self._lists[event].append(handler)

    def handles(self, event: str) -> bool:
        """True when at least one ``event`` handler is registered."""
        return bool(self._lists[event])

    def handlers(self, event: str) -> tuple[Callable[..., object], ...]:
        """The ``event`` handlers registered so far, in order."""
        return tuple(self._lists[event])

    def has_async(self, event: str) -> bool:
        """True when an ``event`` handler is an async function."""
        return any(inspect.iscoroutinefunction(h) for h in self._lists[event])

    def report(self, error: WebSocketError) -> None:
        """Log ``error`` (when it comes from a handler) and pass it to ``on_error``."""
        if isinstance(error, HandlerError):
            logger.error("%s", error, exc_info=error.__cause__)
        else:
            logger.info("%s", error)
        for handler in self._lists["on_error"]:
            try:
                result = handler(error)
            except Exception:
                logger.exception("on_error handler %r raised", handler)
                continue
            if inspect.isawaitable(result):
                self._schedule("on_error", _awaiting(result), ())

    def emit(self, event: str, *args: Any) -> None:
        """Run the ``event`` handlers with ``args``: sync ones now, async ones queued."""
        for handler in self._lists[event]:
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
        for handler in self._lists[event]:
            try:
                result = handler(*args)
                if inspect.isawaitable(result):
                    await result
            except Exception as exc:
                self.report(HandlerError(event, handler, exc))

    def _schedule(self, event: str, handler: Callable[..., object], args: tuple[Any, ...]) -> None:
        self._pending.append((event, handler, args))
        if self._task is None:
            self._task = _runtime.current().spawn(self._run_pending(), "omniws handlers")

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
        runtime = _runtime.current()
        if task is None or runtime.is_current(task):
            return
        if not await runtime.wait_all((task,), timeout):
            self._pending.clear()
            await stop_task(runtime, task)


async def stop_task(
    runtime: Runtime, task: TaskHandle[Any], patience: float = 0.5, tries: int = 20
) -> None:
    """Cancel ``task`` and wait for its end. A cancellation can be swallowed (by
    ``asyncio.wait_for`` on Python < 3.12 when the awaited result is ready in the same step,
    or by a handler that catches it), so cancel again every ``patience`` seconds; bounded."""
    for _ in range(tries):
        if task.done():
            return
        task.cancel()
        await runtime.join(task, patience)
    logger.warning("task %r did not stop after %d cancellations", task, tries)


async def _call(handler: Callable[..., object], args: tuple[Any, ...]) -> None:
    result = handler(*args)
    if inspect.isawaitable(result):
        await result


def _awaiting(awaitable: Awaitable[object]) -> Callable[[], Awaitable[object]]:
    return lambda: awaitable
