"""Servers for the trio client tests, and what the tests look at inside ``trio.run``.

The servers (tests/integration/faultproxy.py: a `websockets` RecordingServer, a FaultProxy)
are asyncio code, so they run on an event loop in a thread of their own
(:class:`ServerThread`); the test runs omniws under ``trio.run`` in its own thread and
drives the servers with blocking calls that take milliseconds.

This directory has no ``__init__.py`` on purpose: as a package it would be named ``trio``.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import trio
from websockets.asyncio.server import ServerConnection

TESTS = str(Path(__file__).resolve().parents[1])
if TESTS not in sys.path:  # pytest puts tests/ there once an integration test is collected
    sys.path.append(TESTS)

from integration.faultproxy import FaultProxy, RecordingServer  # noqa: E402

__all__ = [
    "CloseRecorder",
    "FaultProxy",
    "RecordingServer",
    "ServerThread",
    "omniws_tasks",
    "wait_until",
]

T = TypeVar("T")


class ServerThread:
    """An asyncio loop in a thread for the test's servers; ``stop()`` ends them and it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.servers: list[RecordingServer] = []
        self.proxies: list[FaultProxy] = []
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="test servers", daemon=True
        )
        self._thread.start()

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run ``coroutine`` on the servers' loop and return its result (blocks)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def call_sync(self, function: Callable[[], T]) -> T:
        """Call ``function()`` in the servers' thread (their state is not thread-safe)."""

        async def call() -> T:
            return function()

        return self.call(call())

    def wait_until(
        self, predicate: Callable[[], bool], timeout: float = 10.0, what: str = ""
    ) -> None:
        """Poll ``predicate`` (in the servers' thread) until it holds; fail after ``timeout``."""
        deadline = time.monotonic() + timeout
        while not self.call_sync(predicate):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
            time.sleep(0.01)

    def server(self, handler: Any = None) -> RecordingServer:
        """A started RecordingServer (``handler(server, ws)``; default: echo)."""
        server = self.call(RecordingServer(handler).start())
        self.servers.append(server)
        return server

    def proxy(self, upstream: RecordingServer) -> FaultProxy:
        """A started FaultProxy in front of ``upstream``."""
        proxy = self.call(FaultProxy("127.0.0.1", upstream.port).start())
        self.proxies.append(proxy)
        return proxy

    def __enter__(self) -> ServerThread:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self) -> None:
        async def stop_all() -> None:
            for proxy in self.proxies:
                await proxy.close()
            for server in self.servers:
                await server.stop()

        try:
            self.call(stop_all())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
            self.loop.close()


class CloseRecorder:
    """A RecordingServer handler that echoes and keeps, per connection, the close frame the
    client sent (its code, or None when the connection ended without one)."""

    def __init__(self) -> None:
        self.closes: list[int | None] = []

    async def __call__(self, server: RecordingServer, ws: ServerConnection) -> None:
        try:
            await RecordingServer.echo(server, ws)
        finally:
            received = ws.protocol.close_rcvd
            self.closes.append(None if received is None else received.code)


async def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    """Poll ``predicate`` every 10 ms under trio until it holds; fail after ``timeout``."""
    with trio.move_on_after(timeout):
        while not predicate():
            await trio.sleep(0.01)
        return
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what or predicate}")


def _tasks(nursery: trio.Nursery) -> Iterator[trio.lowlevel.Task]:
    for task in nursery.child_tasks:
        yield task
        for child in task.child_nurseries:
            yield from _tasks(child)


def omniws_tasks() -> list[str]:
    """Names of the living trio tasks (system tasks too) that run omniws code."""
    root = trio.lowlevel.current_root_task()
    found: list[str] = []
    if root is None:
        return found
    for nursery in root.child_nurseries:
        for task in _tasks(nursery):
            frames = [frame.f_code.co_filename for frame, _ in task.iter_await_frames()]
            if any("/omniws/" in name.replace("\\", "/") for name in frames):
                found.append(task.name)
    return found
