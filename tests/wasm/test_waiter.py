"""omniws.wasm.waiter.Waiter (what recv() sleeps on under Pyodide), on CPython's asyncio.

The waiter is platform-neutral: a message event calls ``wake()`` with no task running, which
must resume the waiting task at once; anywhere else it must behave as a plain future.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Coroutine

import pytest

from omniws.wasm.waiter import Waiter

VAR: contextvars.ContextVar[str] = contextvars.ContextVar("VAR", default="outside")


def _run(main: Coroutine[None, None, None]) -> None:
    loop = asyncio.new_event_loop()  # not asyncio.run: its clean-up could wait forever
    try:  # on a task that a broken waiter never resumes; a failure must not hang
        loop.run_until_complete(asyncio.wait_for(main, 10))
    finally:
        loop.close()


async def _sleeper(waiter: Waiter, log: list[str]) -> None:
    VAR.set("task")
    log.append("waiting")
    await waiter
    log.append(f"resumed in {VAR.get()}")


def _started(waiter: Waiter, log: list[str]) -> asyncio.Task[None]:
    task = asyncio.get_running_loop().create_task(_sleeper(waiter, log))
    return task


async def _until(log: list[str], entry: str) -> None:
    for _ in range(100):  # bounded: a few turns of the loop
        if entry in log:
            return
        await asyncio.sleep(0)
    raise AssertionError(f"{entry!r} never logged: {log}")


def test_wake_outside_a_task_resumes_the_task_before_returning() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        waiter, log = Waiter(loop), list[str]()
        task = _started(waiter, log)
        await _until(log, "waiting")
        done = loop.create_future()

        def message_event() -> None:  # as JavaScript calls it: no task is running
            assert asyncio.current_task(loop) is None
            waiter.wake()
            done.set_result(list(log))  # what the task did while wake() ran

        loop.call_soon(message_event)
        assert await done == ["waiting", "resumed in task"]
        await task
        assert waiter.done() and not waiter.cancelled()
        waiter.result()  # no error: woken, not cancelled
        assert waiter.exception() is None

    _run(main())


def test_wake_inside_a_task_schedules_the_wake_up() -> None:
    async def main() -> None:
        waiter, log = Waiter(asyncio.get_running_loop()), list[str]()
        task = _started(waiter, log)
        await _until(log, "waiting")
        waiter.wake()  # a task (this one) is running: it may not enter another task here
        assert log == ["waiting"]
        await task
        assert log == ["waiting", "resumed in task"]
        waiter.wake()  # a second wake is a no-op
        assert waiter.done()

    _run(main())


def test_set_result_schedules_like_a_future() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        waiter, log = Waiter(loop), list[str]()
        task = _started(waiter, log)
        await _until(log, "waiting")
        loop.call_soon(waiter.set_result, None)
        await task
        assert log == ["waiting", "resumed in task"]
        with pytest.raises(asyncio.InvalidStateError):
            waiter.set_result(None)

    _run(main())


def test_cancelling_the_task_cancels_the_waiter() -> None:
    async def main() -> None:
        waiter, log = Waiter(asyncio.get_running_loop()), list[str]()
        task = _started(waiter, log)
        await _until(log, "waiting")
        task.cancel("stop")
        with pytest.raises(asyncio.CancelledError):
            await task
        assert waiter.cancelled() and log == ["waiting"]
        with pytest.raises(asyncio.CancelledError, match="stop"):
            waiter.result()
        assert not waiter.cancel()
        waiter.wake()  # a late message: nothing to resume, no error
        assert waiter.cancelled()

    _run(main())


def test_timeout_around_a_waiter() -> None:
    async def main() -> None:
        waiter = Waiter(asyncio.get_running_loop())
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(_await(waiter), 0.01)
        assert waiter.cancelled()

    async def _await(waiter: Waiter) -> None:
        await waiter

    _run(main())


def test_callbacks_and_states() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        waiter, seen = Waiter(loop), list[object]()
        assert waiter.get_loop() is loop and not waiter.done()
        with pytest.raises(asyncio.InvalidStateError):
            waiter.result()

        def callback(w: object) -> None:
            seen.append(w)

        waiter.add_done_callback(callback)
        assert waiter.remove_done_callback(callback) == 1
        waiter.add_done_callback(callback)
        waiter.wake()  # outside a task? no: this coroutine is a task, so it is scheduled
        assert seen == []
        await asyncio.sleep(0)
        assert seen == [waiter]
        waiter.add_done_callback(callback)  # already done: called soon
        await asyncio.sleep(0)
        assert seen == [waiter, waiter]

    _run(main())
