"""The future that ``recv()`` sleeps on under Pyodide, which a message wakes without a macrotask.

Pyodide's event loop runs every ``call_soon`` callback as a browser macrotask (a
``MessageChannel`` message in a page, ``setImmediate`` in Node.js), and a future made by
``loop.create_future()`` carries a second done callback (the loop's count of pending work).
So ``asyncio.Future.set_result`` costs two macrotasks before the reader runs: most of a round
trip in a browser.

:class:`Waiter` has the interface of a future that a ``Task`` needs. :meth:`Waiter.wake`,
called from the ``WebSocket``'s ``message`` event (JavaScript is running it, no Python task
is), resumes the waiting task at once, in its own context, as the event loop would have done
a macrotask later. Wherever a task is running (a test that feeds messages from a task, a
handler), and for everything else (``set_result``, ``cancel``), the callbacks are scheduled
with ``loop.call_soon`` as a plain future does.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Generator
from typing import Any

__all__ = ["Waiter"]

_PENDING, _FINISHED, _CANCELLED = 0, 1, 2
_Callback = Callable[[Any], object]


class Waiter:
    """A one-shot ``Future[None]`` for one ``await`` in one task (see the module docstring)."""

    __slots__ = ("_asyncio_future_blocking", "_callbacks", "_cancel_message", "_loop", "_state")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._state = _PENDING
        self._callbacks: list[tuple[_Callback, contextvars.Context | None]] = []
        self._cancel_message: object = None
        self._asyncio_future_blocking = False  # read and set by asyncio.Task

    def get_loop(self) -> asyncio.AbstractEventLoop:
        """The loop this waiter belongs to (asyncio.Task checks it)."""
        return self._loop

    def done(self) -> bool:
        """True once woken or cancelled."""
        return self._state != _PENDING

    def cancelled(self) -> bool:
        """True once cancelled."""
        return self._state == _CANCELLED

    def result(self) -> None:
        """None once woken; raises CancelledError once cancelled."""
        if self._state == _CANCELLED:
            raise asyncio.CancelledError(
                *(() if self._cancel_message is None else (self._cancel_message,))
            )
        if self._state == _PENDING:
            raise asyncio.InvalidStateError("the waiter is not done yet")

    def exception(self) -> BaseException | None:
        """Always None once woken (a waiter carries no error)."""
        self.result()
        return None

    def add_done_callback(
        self, fn: _Callback, *, context: contextvars.Context | None = None
    ) -> None:
        """Call ``fn(self)`` when done (at once, through ``call_soon``, if already done)."""
        if self._state != _PENDING:
            self._loop.call_soon(fn, self, context=context)
        else:
            self._callbacks.append((fn, context))

    def remove_done_callback(self, fn: _Callback) -> int:
        """Forget ``fn``; return how many were removed."""
        kept = [(f, c) for f, c in self._callbacks if f != fn]
        removed = len(self._callbacks) - len(kept)
        self._callbacks = kept
        return removed

    def set_result(self, result: None) -> None:
        """Wake the waiting task on a later turn of the loop, as a future does."""
        if self._state != _PENDING:
            raise asyncio.InvalidStateError("the waiter is already done")
        self._state = _FINISHED
        self._schedule()

    def cancel(self, msg: object = None) -> bool:
        """Cancel (the waiting task was cancelled); False when already done."""
        if self._state != _PENDING:
            return False
        self._state, self._cancel_message = _CANCELLED, msg
        self._schedule()
        return True

    def wake(self) -> None:
        """Wake the waiting task now when no task is running on the loop, else later."""
        if self._state != _PENDING:
            return
        self._state = _FINISHED
        if asyncio.current_task(self._loop) is not None:
            self._schedule()
            return
        callbacks, self._callbacks = self._callbacks, []
        for fn, context in callbacks:
            if context is None:
                fn(self)
            else:
                context.run(fn, self)

    def _schedule(self) -> None:
        callbacks, self._callbacks = self._callbacks, []
        for fn, context in callbacks:
            self._loop.call_soon(fn, self, context=context)

    def __await__(self) -> Generator[Any, None, None]:
        if self._state == _PENDING:
            self._asyncio_future_blocking = True
            yield self
        if self._state == _PENDING:
            raise RuntimeError("await was not used with this waiter")
        return self.result()

    __iter__ = __await__
