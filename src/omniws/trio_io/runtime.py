"""trio's :class:`~omniws._runtime.Runtime`: events for signals, cancel scopes for tasks.

A client's background tasks (its supervisor, heartbeat, handler runner, a connection's
reader) outlive the call that starts them (``await client.connect()`` returns while they
run), so they run as trio system tasks, each in a cancel scope of its own; the client and
the connection cancel and await every one of them before ``close()`` returns, and trio
cancels any left when ``trio.run`` ends. Nothing escapes them: what one raises is kept for
:meth:`TrioTask.result` (and logged if nobody asks).
"""

from __future__ import annotations

import contextvars
import logging
import math
from collections.abc import Awaitable, Callable, Collection, Coroutine, Generator
from contextlib import AbstractContextManager
from typing import Any, Generic, TypeVar

import trio

from .._runtime import Signal, TaskHandle, TimerHandle

__all__ = ["TRIO", "TrioRuntime", "TrioSignal", "TrioTask"]

T = TypeVar("T")
logger = logging.getLogger("omniws.trio")


class TrioSignal:
    """A :class:`~omniws._runtime.Signal` on a ``trio.Event``."""

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event = trio.Event()

    def done(self) -> bool:
        return self._event.is_set()

    def set_result(self, result: None, /) -> None:
        self._event.set()

    def __await__(self) -> Generator[Any, None, None]:
        return self._event.wait().__await__()


class TrioTask(Generic[T]):
    """A :class:`~omniws._runtime.TaskHandle`: a system task in its own cancel scope."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.scope = trio.CancelScope()
        self.ended = trio.Event()
        self.task: trio.lowlevel.Task | None = None
        self._outcome: tuple[T] | None = None  # (what it returned,) once it returned
        self._error: BaseException | None = None
        self._cancelled = False
        self._seen = False

    async def run(self, coroutine: Coroutine[Any, Any, T]) -> None:
        self.task = trio.lowlevel.current_task()
        try:
            with self.scope:
                self._outcome = (await coroutine,)
        except trio.Cancelled:
            raise  # another scope's (trio.run is ending): not ours to keep
        except BaseException as exc:  # nothing may escape a system task
            self._error = exc
        finally:
            self._cancelled = self.scope.cancelled_caught
            self.ended.set()
        if self._error is not None:
            await trio.lowlevel.checkpoint()  # let the owner look before we complain
            if not self._seen:
                logger.error("omniws task %s failed", self.name, exc_info=self._error)

    def done(self) -> bool:
        return self.ended.is_set()

    def cancel(self) -> None:
        self.scope.cancel()

    def cancelled(self) -> bool:
        return self._cancelled

    def result(self) -> T:
        if not self.ended.is_set():
            raise RuntimeError(f"task {self.name} has not ended yet")
        self._seen = True
        if self._error is not None:
            raise self._error
        if self._outcome is None:  # a cancelled task returned nothing
            raise RuntimeError(f"task {self.name} was cancelled")
        return self._outcome[0]


class _Timer:
    __slots__ = ("scope",)

    def __init__(self) -> None:
        self.scope = trio.CancelScope()

    def cancel(self) -> None:
        self.scope.cancel()


class TrioRuntime:
    """trio's runtime (one for the process: trio keeps its state per ``trio.run``)."""

    name = "trio"

    def time(self) -> float:
        return trio.current_time()

    def signal(self) -> Signal:
        return TrioSignal()

    def call_later(self, delay: float, callback: Callable[[], object]) -> TimerHandle:
        timer = _Timer()

        async def later() -> None:
            with timer.scope:
                await trio.sleep(delay)
                callback()

        trio.lowlevel.spawn_system_task(later, name="omniws timer")
        return timer

    def spawn(self, coroutine: Coroutine[Any, Any, T], name: str) -> TrioTask[T]:
        task: TrioTask[T] = TrioTask(name)
        trio.lowlevel.spawn_system_task(
            task.run, coroutine, name=name, context=contextvars.copy_context()
        )
        return task

    def is_current(self, task: TaskHandle[Any]) -> bool:
        return isinstance(task, TrioTask) and task.task is trio.lowlevel.current_task()

    async def sleep(self, seconds: float) -> None:
        await trio.sleep(seconds)

    async def wait_all(self, waitables: Collection[Any], timeout: float | None) -> bool:
        with trio.move_on_after(math.inf if timeout is None else timeout):
            for waitable in waitables:
                await (waitable.ended.wait() if isinstance(waitable, TrioTask) else waitable)
            return True
        return all(w.done() for w in waitables)

    async def join(self, task: TaskHandle[Any], timeout: float) -> bool:
        with trio.CancelScope(shield=True), trio.move_on_after(timeout):
            await self.wait_all((task,), None)
        return task.done()

    def cleanup(self) -> AbstractContextManager[object]:
        return trio.CancelScope(shield=True)

    async def timeout(self, awaitable: Awaitable[T], seconds: float) -> T:
        try:
            with trio.fail_after(seconds):
                return await awaitable
        except trio.TooSlowError:
            raise TimeoutError from None

    async def shielded(self, signal: Signal) -> None:
        await signal  # waiting on a trio.Event never changes it


TRIO = TrioRuntime()
"""The one trio runtime."""
