"""The async library a client runs on: asyncio (with uvloop, and Pyodide's loop) or trio.

The parts of a client (lifecycle, link, inbox, heartbeat, events, supervisor) and the
shared connection base wait, sleep, time out and start tasks only through a
:class:`Runtime`, so the retry, heartbeat and state logic exist once for both libraries.
asyncio's runtime hands out the loop's own futures and timers (nothing in between on the
hot path); trio's lives in :mod:`omniws.trio_io` and is imported only under ``trio.run``.

Which one runs is found out where it matters (``current()``): asyncio when an asyncio loop
runs in this thread, trio when called from a trio task.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable, Collection, Coroutine, Generator
from contextlib import AbstractContextManager
from typing import Any, Protocol, TypeVar

__all__ = [
    "TIMEOUT_ERRORS",
    "AsyncioRuntime",
    "Runtime",
    "Signal",
    "TaskHandle",
    "TimerHandle",
    "current",
    "under_trio",
]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

TIMEOUT_ERRORS: tuple[type[BaseException], ...] = (TimeoutError, asyncio.TimeoutError)
"""What :meth:`Runtime.timeout` raises, on every Python (3.10's asyncio has its own)."""


class Signal(Protocol):
    """Set once, awaited by one waiter: ``asyncio.Future[None]`` is one (trio has its own).
    Awaiting it never consumes nor cancels it."""

    def done(self) -> bool:
        """True once set."""

    def set_result(self, result: None, /) -> None:
        """Set it: the waiter wakes up."""

    def __await__(self) -> Generator[Any, None, None]:
        """Wait until set."""


class TaskHandle(Protocol[T_co]):
    """A task started by :meth:`Runtime.spawn` (``asyncio.Task`` is one)."""

    def done(self) -> bool:
        """True once it has ended, for any reason."""

    def cancel(self) -> object:
        """Ask it to stop."""

    def cancelled(self) -> bool:
        """True when it ended by being cancelled."""

    def result(self) -> T_co:
        """What it returned (raises what it raised)."""


class TimerHandle(Protocol):
    """A call scheduled by :meth:`Runtime.call_later`."""

    def cancel(self) -> object:
        """Do not make the call (no effect once made)."""


Waitable = Signal | TaskHandle[Any]


class Runtime(Protocol):
    """What the client's parts need from an async library."""

    name: str
    """``"asyncio"`` or ``"trio"``."""

    def time(self) -> float:
        """The library's monotonic clock, in seconds."""

    def signal(self) -> Signal:
        """A new unset :class:`Signal`."""

    def call_later(self, delay: float, callback: Callable[[], object]) -> TimerHandle:
        """Call ``callback()`` after ``delay`` seconds, unless cancelled."""

    def spawn(self, coroutine: Coroutine[Any, Any, T], name: str) -> TaskHandle[T]:
        """Run ``coroutine`` as a background task of the client, in a copy of the current
        context."""

    def is_current(self, task: TaskHandle[Any]) -> bool:
        """True when called from ``task`` (a handle from :meth:`spawn`)."""

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` (``math.inf``: until cancelled)."""

    async def wait_all(self, waitables: Collection[Waitable], timeout: float | None) -> bool:
        """Wait until every one of ``waitables`` is done, at most ``timeout`` seconds
        (None: no limit); True when they all are. Never cancels them."""

    async def join(self, task: TaskHandle[Any], timeout: float) -> bool:
        """Wait at most ``timeout`` seconds for the end of ``task`` (a stopping one), even
        when the caller is being cancelled; True when it has ended."""

    async def timeout(self, awaitable: Awaitable[T], seconds: float) -> T:
        """Await ``awaitable``, cancelled after ``seconds``: then raise TimeoutError."""

    def cleanup(self) -> AbstractContextManager[object]:
        """Where a client or connection closes on the way out (``__aexit__``): trio shields
        it from the cancellation that may be unwinding the caller (the close is bounded by
        ``close_timeout``); asyncio delivers a cancellation once, so needs nothing."""

    async def shielded(self, signal: Signal) -> None:
        """Wait for ``signal``; cancelling the waiter leaves the signal as it is."""


class AsyncioRuntime:
    """asyncio's :class:`Runtime`, bound to one event loop (its futures, timers, tasks)."""

    name = "asyncio"

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.time = loop.time
        self.call_later: Callable[[float, Callable[[], object]], TimerHandle] = loop.call_later
        self.signal: Callable[[], Signal] = loop.create_future

    def spawn(self, coroutine: Coroutine[Any, Any, T], name: str) -> asyncio.Task[T]:
        return self.loop.create_task(coroutine, name=name)

    def is_current(self, task: TaskHandle[Any]) -> bool:
        return task is asyncio.current_task()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    async def wait_all(self, waitables: Collection[Waitable], timeout: float | None) -> bool:
        futures: set[asyncio.Future[Any]] = set(waitables)  # type: ignore[arg-type]
        if not futures:
            return True
        _, pending = await asyncio.wait(futures, timeout=timeout)
        return not pending

    async def join(self, task: TaskHandle[Any], timeout: float) -> bool:
        return await self.wait_all((task,), timeout)

    def cleanup(self) -> AbstractContextManager[object]:
        return contextlib.nullcontext()

    async def timeout(self, awaitable: Awaitable[T], seconds: float) -> T:
        try:
            return await asyncio.wait_for(awaitable, seconds)
        except asyncio.TimeoutError as exc:
            if isinstance(exc, TimeoutError):
                raise
            raise TimeoutError from exc  # Python 3.10

    async def shielded(self, signal: Signal) -> None:
        await asyncio.shield(signal)


_last: AsyncioRuntime | None = None


def under_trio() -> bool:
    """True when called from a trio task (and not from an asyncio loop)."""
    trio = sys.modules.get("trio")  # never imported here: a trio task means it was
    if trio is None or asyncio._get_running_loop() is not None:
        return False
    try:
        trio.lowlevel.current_task()
    except RuntimeError:
        return False
    return True


def current() -> Runtime:
    """The runtime of the calling task: asyncio's (for the running loop) or trio's.

    Raises RuntimeError outside of both, naming what to do."""
    global _last
    loop = asyncio._get_running_loop()
    if loop is not None:
        if _last is None or _last.loop is not loop:
            _last = AsyncioRuntime(loop)
        return _last
    if under_trio():
        from .trio_io.runtime import TRIO

        return TRIO
    raise RuntimeError(
        "no running event loop: call omniws from a coroutine run by asyncio.run() or "
        "trio.run(), or use omniws.sync from threads"
    )
