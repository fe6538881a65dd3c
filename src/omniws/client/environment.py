"""The page a client lives in: network and lifecycle events, platform-neutral.

A platform may provide an :class:`Environment` (``omniws._platform.page_environment()``): in a
browser under Pyodide it reports ``navigator.onLine`` and the window/document events; on
CPython and in Node.js there is none, and nothing here ever fires. The supervisor subscribes
while the client runs (unless ``WebSocketConfig(browser_lifecycle=False)``) and keeps what
it learns in a :class:`PageWatch`.

What the events mean to a client:

- ``online``: retry at once, with the backoff started over;
- ``offline``: leave ``Connected`` at once; while offline, retries wait for ``online`` (but
  still try every ``max_delay``) and do not count against ``max_attempts``;
- ``visible`` and ``resume``: probe the connection at once (timers may have been throttled or
  frozen);
- ``pagehide``: close the connection cleanly (:data:`PAGEHIDE_CLOSE`) so that the page can
  enter the back/forward cache; ``pageshow`` (from that cache) connects again.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal, Protocol

from .. import _runtime
from .._runtime import Signal, TaskHandle
from ..messages import CloseFrame
from .contract import Connection

__all__ = [
    "OFFLINE_CLOSE",
    "PAGEHIDE_CLOSE",
    "Environment",
    "PageEvent",
    "PageListener",
    "PageWatch",
    "end_connection",
]

PageEvent = Literal[
    "online", "offline", "visible", "hidden", "freeze", "resume", "pagehide", "pageshow"
]
"""What an environment reports. ``pageshow`` is reported only for a page restored from the
back/forward cache (``event.persisted``), not for its first load."""

PageListener = Callable[[PageEvent], None]

PAGEHIDE_CLOSE = CloseFrame(1000, "pagehide")
"""How a client closes on ``pagehide`` and what its ``on_close`` then receives. Scripts may
send only 1000 or 3000-4999 (browsers refuse 1001 "going away"); 1000 tells the server that
nothing went wrong, and the reason says why."""

OFFLINE_CLOSE = CloseFrame(1006, "offline")
"""What ``on_close`` receives (and the ``Reconnecting`` state's cause) when the browser went
offline under a connection: it is dropped at once, without a close handshake."""


class Environment(Protocol):
    """Network and page lifecycle events of the platform (see the module docstring)."""

    @property
    def online(self) -> bool:
        """The platform's idea of the network (``navigator.onLine``); may be wrong when True."""

    def subscribe(self, listener: PageListener) -> Callable[[], None]:
        """Call ``listener(event)`` for each event until the returned function is called
        (it removes every listener this call added)."""


class PageWatch:
    """What the supervisor knows of its page, and the signals it waits on.

    ``on_event(event)`` is called for each event after the watch has recorded it.
    """

    def __init__(self, on_event: PageListener) -> None:
        self.online = True
        self.away = False
        """``pagehide`` came and no ``pageshow`` yet: no connection is made meanwhile."""
        self._on_event = on_event
        self._unsubscribe: Callable[[], None] | None = None
        self._wake: Signal | None = None
        self._nudge: Signal | None = None

    @property
    def watching(self) -> bool:
        """Subscribed to an environment."""
        return self._unsubscribe is not None

    def start(self, environment: Environment | None) -> None:
        """Subscribe to ``environment`` (None: nothing to watch)."""
        self.stop()
        self.online, self.away = True, False
        if environment is not None:
            self.online = bool(environment.online)
            self._unsubscribe = environment.subscribe(self._event)

    def stop(self) -> None:
        """Unsubscribe (idempotent)."""
        unsubscribe, self._unsubscribe = self._unsubscribe, None
        if unsubscribe is not None:
            unsubscribe()

    def _event(self, event: PageEvent) -> None:
        if event == "online":
            self.online = True
            self._fire("_wake")
        elif event == "offline":
            self.online = False
        elif event == "pagehide":
            self.away = True
        elif event == "pageshow":
            self.away = False
            self._fire("_wake")
        elif event in ("visible", "resume"):
            self._fire("_nudge")
        self._on_event(event)

    def _fire(self, name: str) -> None:
        future: Signal | None = getattr(self, name)
        setattr(self, name, None)
        if future is not None and not future.done():
            future.set_result(None)

    def _future(self, name: str) -> Signal:
        future: Signal | None = getattr(self, name)
        if future is None or future.done():
            future = _runtime.current().signal()
            setattr(self, name, future)
        return future

    async def sleep(self, delay: float) -> bool:
        """Wait ``delay`` seconds (``math.inf``: until woken) or until ``online`` or
        ``pageshow``; return True when woken early."""
        wake = self._future("_wake")
        await _runtime.current().wait_all((wake,), None if math.isinf(delay) else delay)
        return wake.done()

    def nudged(self) -> Signal:
        """A signal set at the next ``visible`` or ``resume`` (for the heartbeat)."""
        return self._future("_nudge")


def end_connection(conn: Connection | None, event: PageEvent) -> CloseFrame | None:
    """End ``conn`` (if open) for ``offline`` (dropped: no close handshake can complete) or
    ``pagehide`` (closed cleanly, started at once: the page may be frozen before a task could
    run); return the frame ``on_close`` gets, or None when there was nothing to end."""
    if conn is None or conn.close_code is not None:
        return None
    if event == "offline":
        conn.abort()
        return OFFLINE_CLOSE
    frame = PAGEHIDE_CLOSE
    close_nowait = getattr(conn, "close_nowait", None)  # optional hook of a Connection
    if close_nowait is not None:
        close_nowait(frame.code, frame.reason)
    else:
        _CLOSING.difference_update([task for task in _CLOSING if task.done()])
        _CLOSING.add(_runtime.current().spawn(conn.close(frame.code, frame.reason), "close"))
    return frame


_CLOSING: set[TaskHandle[None]] = set()  # closes started by end_connection, kept referenced
