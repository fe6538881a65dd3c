"""The front ends the misuse tests drive, and what they may raise (test_misuse*.py).

A front end wraps one public API behind synchronous calls, so that Hypothesis runs plain
functions: ``run(x)`` awaits ``x`` if it is awaitable, with a deadline. Every misuse test is
parametrized over FRONT_ENDS: the async API (``omniws``) and the synchronous one
(``omniws.sync``), whose calls block by themselves. ``open_client`` calls ``connect()`` on a
new client and ``shutdown`` closes the private event loop, which the sync front end does
not use.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, settings

import omniws
import omniws.sync

MISUSE_SETTINGS = settings(
    max_examples=100,
    deadline=timedelta(seconds=60),  # one example: a call and a round trip, on a busy machine
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    derandomize=True,  # the same examples on every run: a failure is never a fluke
    database=None,
)
CALL_TIMEOUT = 20.0  # the deadline of one call; generous for a busy 2-core machine

# What a misused call may raise: the documented errors. UnicodeError is a ValueError but
# never a clear message about the argument, so it counts as a leak.
ALLOWED = (TypeError, ValueError, omniws.WebSocketError)
LEAKS = (UnicodeError,)


def check_raised(exc: BaseException | None, call: str) -> None:
    """Fail unless ``exc`` is None or a documented error with a message."""
    if exc is None:
        return
    if not isinstance(exc, ALLOWED) or isinstance(exc, LEAKS):
        raise AssertionError(f"{call} raised an undocumented {type(exc).__name__}: {exc!r}")
    if not str(exc).strip():
        raise AssertionError(f"{call} raised {type(exc).__name__} without a message")


class FrontEnd:
    """omniws's async API, driven from synchronous code through one private event loop."""

    name = "async"
    connect: Any = staticmethod(omniws.connect)
    Connection: Any = omniws.Connection
    WebSocketClient: Any = omniws.WebSocketClient
    excluded: frozenset[str] = frozenset()  # names of test_misuse targets it lacks

    def __init__(self, url: str) -> None:
        self.url = url
        self.loop = asyncio.new_event_loop()
        self._probes = itertools.count()
        self.subjects: dict[str, Any] = {}

    def run(self, result: Any) -> Any:
        """``result`` itself, or what it returns when awaited (within CALL_TIMEOUT)."""
        if not inspect.isawaitable(result):
            return result

        async def bounded() -> Any:
            return await asyncio.wait_for(result, CALL_TIMEOUT)

        return self.loop.run_until_complete(bounded())

    def recv(self, subject: Any) -> Any:
        return self.run(subject.recv())

    def open_connection(self) -> Any:
        return self.run(self.connect(self.url))

    def open_client(self, **kwargs: Any) -> Any:
        client = self.WebSocketClient(self.url, **kwargs)
        self.run(client.connect())
        return client

    def subject(self, kind: str) -> Any:
        """The shared open connection or connected client, (re)opened when needed."""
        if kind not in self.subjects:
            opener = self.open_connection if kind == "connection" else self.open_client
            self.subjects[kind] = opener()
        return self.subjects[kind]

    def discard(self, kind: str) -> None:
        """Close and forget a subject (after a legitimate close or a failure)."""
        subject = self.subjects.pop(kind, None)
        if subject is not None:
            # a broken subject may fail to close; that failure is reported by the caller
            with contextlib.suppress(Exception):
                self.run(subject.close())

    def roundtrip(self, subject: Any) -> None:
        """Send a probe and read until it comes back; echoes of earlier sends may precede it."""
        probe = f"probe-{next(self._probes)}"
        self.run(subject.send(probe))
        for _ in range(100):
            if self.recv(subject) == probe:
                return
        raise AssertionError(f"{probe!r} did not come back after 100 messages")

    def healthy(self, kind: str, after: str) -> None:
        """Assert the shared subject still works; reopen it for the next example if not."""
        try:
            self.roundtrip(self.subject(kind))
        except BaseException as exc:
            self.discard(kind)
            raise AssertionError(f"the {kind} stopped working after {after}: {exc!r}") from exc

    def shutdown(self) -> None:
        for kind in list(self.subjects):
            self.discard(kind)
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()


class SyncFrontEnd(FrontEnd):
    """omniws.sync: the same calls without ``await``."""

    name = "sync"
    connect: Any = staticmethod(omniws.sync.connect)
    Connection: Any = omniws.sync.Connection
    WebSocketClient: Any = omniws.sync.WebSocketClient
    excluded = frozenset({"Connection.send_nowait"})  # a blocking API needs no callback send

    def run(self, result: Any) -> Any:
        assert not inspect.isawaitable(result), f"the sync API returned an awaitable: {result!r}"
        return result

    def recv(self, subject: Any) -> Any:
        return subject.recv(timeout=CALL_TIMEOUT)


FRONT_ENDS: list[type[FrontEnd]] = [FrontEnd, SyncFrontEnd]
