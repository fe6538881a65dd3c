"""Who runs a sync object's private event loop: its background thread, or a calling thread.

The loop belongs to whoever holds it. A thread that must wait (``recv()`` with nothing
queued) runs the loop itself when it is free, and a sending thread writes directly: the
common request/response pattern then costs no thread switch at all. While no caller holds
the loop the background thread takes it over, at once when work is waiting for it
(``run()``, ``call()``, a reader waiting) and otherwise after ``PARK`` seconds, so timers,
pings, heartbeats and reconnections never stall. A caller that needs the loop while the
background thread runs it asks for it back.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import sys
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from ..errors import WebApiError, WebSocketTimeout

__all__ = ["PARK", "LoopThread", "require_threads"]
_FOREVER = threading.TIMEOUT_MAX  # longer waits are endless (and would overflow)

T = TypeVar("T")
PARK = 0.005
"""How long the loop may sit unused between two calls before the background thread runs it."""
_HELD_POLL = 0.1  # while a caller holds the loop: how often the background thread looks


def require_threads() -> None:
    """Raise WebApiError under Pyodide, where nothing may block the browser's event loop."""
    if sys.platform == "emscripten":
        raise WebApiError(
            "omniws.sync cannot run under Pyodide: the browser's (or Node's) event loop "
            "cannot block, and the page has no second thread to run the connection on; "
            "use the async API instead (omniws.connect / omniws.WebSocketClient with await)"
        )


def new_loop() -> asyncio.AbstractEventLoop:
    """The standard library's event loop, whatever the event-loop policy says.

    The loop is private, and lending it to callers needs a cheap ``run_forever()``: about
    4-6 us here, against 35 us for uvloop's on the main thread (it re-arms signal handling
    each time), which would cost more than uvloop saves on the rest of a message."""
    if sys.platform == "win32":  # pragma: no cover - the default loop there
        return asyncio.ProactorEventLoop()
    return asyncio.SelectorEventLoop()


class LoopThread:
    """One event loop, run by a daemon thread or lent to calling threads; see the module."""

    def __init__(self, name: str, *, lend: bool = True) -> None:
        self.loop = new_loop()
        self._lend = lend  # False: only the background thread ever runs the loop
        self._lock = threading.Lock()  # taken directly on the hot path (cheaper than the
        self._cond = threading.Condition(self._lock)  # Condition's Python-level __enter__)
        self._owner: int | None = None  # the thread running or holding the loop
        self._urgent = True  # the background thread should take the loop now
        self._wanted = 0  # callers waiting for the background thread to hand the loop over
        self._runs = 0  # run() calls waiting for their coroutine
        self._activity = 0  # bumped whenever a caller takes the loop
        self._called = False  # call() while a caller held the loop
        self._stopped = False
        self.lent = False  # a calling thread runs the loop now: stop it once a message came
        self.thread = threading.Thread(target=self._main, name=name, daemon=True)
        self.thread.start()

    # --- the background thread ------------------------------------------------------------
    def _main(self) -> None:
        me = threading.get_ident()
        loop, cond = self.loop, self._cond
        try:
            while self._take(me):
                try:
                    loop.run_forever()
                finally:
                    with cond:
                        self._owner = None
                        cond.notify_all()
        finally:
            with cond:
                while self._owner is not None:
                    cond.wait()
                self._owner = me
            self._shutdown()

    def _take(self, me: int) -> bool:
        """Wait until the background thread should run the loop (False: stop for good)."""
        cond = self._cond
        with cond:
            seen = -1
            while True:
                if self._stopped:
                    return False
                if self._owner is None and not self._wanted:
                    if self._urgent or self._runs or self._activity == seen:
                        self._owner, self._urgent = me, False
                        return True
                    seen = self._activity
                    cond.wait(PARK)
                else:  # a caller holds it: look again now and then (release() only
                    seen = -1  # notifies when work is waiting, to stay cheap)
                    cond.wait(_HELD_POLL)

    def _shutdown(self) -> None:
        loop = self.loop
        try:
            tasks = asyncio.all_tasks(loop)
            for task in tasks:
                task.cancel()
            if tasks:
                loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()

    # --- callers --------------------------------------------------------------------------
    def inside(self) -> bool:
        """True when called from code the loop is running (a handler, a callback)."""
        # not asyncio.get_running_loop(): on 3.11 it makes a getpid() system call
        return self._owner == threading.get_ident() and self.loop.is_running()

    def by_caller(self) -> bool:
        """On the loop: True when a calling thread (not the background thread) runs it."""
        return threading.get_ident() != self.thread.ident

    def acquire(self, *, wait: bool) -> bool:
        """Take the loop for this thread. ``wait``: to run it, asking the background thread
        to hand it over if needed; never waits for another calling thread (returns False)."""
        me = threading.get_ident()
        with self._lock:
            if self._owner is None and self._lend and not self._stopped:
                self._owner = me  # free: the common case
                self._activity += 1
                self._called = False
                return True
        return self._acquire_slow(me, wait)

    def _acquire_slow(self, me: int, wait: bool) -> bool:
        cond = self._cond
        with self._lock:
            if self._stopped or self._owner == me:
                return False
            if not self._lend:
                if self._owner is None:
                    self._urgent = True
                    cond.notify_all()
                return False
            if self._owner is not None:
                if not wait or self._owner != self.thread.ident:
                    return False
                self._wanted += 1
                try:
                    self.loop.call_soon_threadsafe(self.loop.stop)
                    while self._owner is not None:
                        cond.wait()
                finally:
                    self._wanted -= 1
                if self._stopped:
                    cond.notify_all()
                    return False
            self._owner = me
            self._activity += 1
            self._called = False
            return True

    def release(self, *, urgent: bool = False) -> None:
        """Give the loop back; ``urgent``: work is waiting, the background thread runs it now."""
        with self._lock:
            self._owner = None
            if urgent or self._called or self._runs or self._stopped or self._wanted:
                self._urgent = self._urgent or urgent or self._called or bool(self._runs)
                self._cond.notify_all()

    def run_once(self, timeout: float | None) -> None:
        """Run the held loop until something stops it (or ``timeout`` seconds pass)."""
        loop = self.loop
        self.lent = True
        endless = timeout is None or timeout >= _FOREVER
        handle = None if endless else loop.call_later(max(timeout or 0.0, 0.0), loop.stop)
        try:
            loop.run_forever()
        finally:
            if handle is not None:
                handle.cancel()

    def interrupt(self) -> None:
        """Make a caller that runs the loop look up (its ``run_once`` returns); any thread."""
        if self.inside():
            if self.by_caller():
                self.loop.stop()
            return
        owner = self._owner
        if owner is not None and owner != self.thread.ident:
            self._call_soon(self.loop.stop)

    def call(self, callback: Callable[..., object], *args: Any) -> None:
        """Run ``callback(*args)`` on the loop soon (thread-safe, never blocks)."""
        self._call_soon(callback, *args)
        if not self.inside():
            with self._cond:
                if self._owner is None:
                    self._urgent = True
                    self._cond.notify_all()
                elif self._owner != self.thread.ident:
                    self._called = True

    def _call_soon(self, callback: Callable[..., object], *args: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: the object was closed
            self.loop.call_soon_threadsafe(callback, *args)

    def run(
        self,
        coro: Coroutine[Any, Any, T],
        timeout: float | None = None,
        operation: str = "operation",
    ) -> T:
        """Run ``coro`` on the loop and wait for its result in the calling thread."""
        if self.inside():
            coro.close()
            raise RuntimeError(
                f"{operation}() would block the omniws event loop it was called from (a "
                "handler runs on it): call it from another thread; send() and close() do "
                "not block when called from a handler"
            )
        with self._cond:
            if self._stopped:
                coro.close()
                raise RuntimeError(f"{operation}() after close()")
            self._runs += 1
            if self._owner is None:
                self._cond.notify_all()
        try:
            future = asyncio.run_coroutine_threadsafe(coro, self.loop)
            try:
                # beyond TIMEOUT_MAX (about 292 years) a wait is as good as endless
                return future.result(None if timeout is None else min(timeout, _FOREVER))
            except concurrent.futures.TimeoutError:
                if future.done():
                    raise
                future.cancel()
                raise WebSocketTimeout(operation, timeout or 0.0) from None
            except BaseException:
                future.cancel()
                raise
        finally:
            with self._cond:
                self._runs -= 1

    def spawn(self, coro: Coroutine[Any, Any, object]) -> None:
        """Start ``coro`` as a task on the loop without waiting for it (any thread)."""
        if self.inside():
            self.loop.create_task(coro)
        else:
            self.call(self.loop.create_task, coro)

    @property
    def stopped(self) -> bool:
        """``stop()`` was called (the loop ends, or has ended)."""
        return self._stopped

    def stop(self) -> None:
        """End the loop (cancelling what still runs on it) and the background thread; joins
        it unless called from the loop (then the thread ends right after)."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        if self.inside():
            self.loop.stop()
            return
        if self._owner == self.thread.ident:
            self._call_soon(self.loop.stop)
        self.thread.join()
