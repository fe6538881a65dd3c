"""Test doubles for the supervisor: a fake Connection (the hooks of docs/INTERNALS.md), a fake
server that opens them, and an event loop whose clock jumps over idle time, so that backoffs
and heartbeats of minutes take no real time.

Run a test body with ``run(main())``: the loop's time starts at 0 and moves only when every
task is waiting, straight to the next timer. The fakes use only omniws's runtime seam, so
they work under trio too (``trio.run`` with ``MockClock(autojump_threshold=0)``).
"""

from __future__ import annotations

import asyncio
import selectors
from collections import deque
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, TypeVar

from omniws import _runtime
from omniws._runtime import Signal
from omniws.config import WebSocketConfig
from omniws.errors import ConnectionClosed, WebSocketError
from omniws.messages import CloseFrame, Data, Message

T = TypeVar("T")


# --- virtual time ----------------------------------------------------------------------------
class _JumpingSelector(selectors.BaseSelector):
    """Polls the real selector without blocking; a wait becomes a jump of the virtual clock."""

    def __init__(self, loop: VirtualTimeLoop) -> None:
        self._real = selectors.DefaultSelector()
        self._loop = loop

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._real.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.modify(fileobj, events, data)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = self._real.select(0)
        if ready or timeout == 0:
            return ready
        if timeout is None:
            raise RuntimeError("deadlock: every task waits and no timer is scheduled")
        self._loop.advance(timeout)
        return []

    def close(self) -> None:
        self._real.close()

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return self._real.get_map()


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An event loop whose ``time()`` advances only when it would otherwise wait."""

    def __init__(self) -> None:
        self._now = 0.0
        super().__init__(_JumpingSelector(self))

    def time(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds
        if self._now > self.limit:
            raise RuntimeError(f"virtual time passed {self.limit:g} s: the test hangs")

    limit = 100_000.0


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` on a fresh :class:`VirtualTimeLoop`; fail if a task is left behind."""
    loop = VirtualTimeLoop()
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(main)
    finally:
        try:
            left = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in left:
                task.cancel()
            if left:
                loop.run_until_complete(asyncio.wait(left))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            asyncio.set_event_loop(None)
            loop.close()


# --- the fake connection ---------------------------------------------------------------------
class FakeConnection:
    """A connection whose peer is scripted by the test.

    The "server" side: ``push(message)``, ``server_close(code)``, ``drop()``, and the
    ``answer_pings`` / ``pong_delay`` / ``answer_close`` knobs (with ``answer_close`` False,
    the client's ``close()`` waits until the test calls ``server_close()`` or ``drop()``).
    Like the real one, it stops reading when its queue holds ``max_queue`` messages: then
    nothing more is processed, pongs included, until ``recv()`` makes room.
    """

    def __init__(self, server: FakeServer, config: WebSocketConfig) -> None:
        self.server = server
        self.config = config
        self.runtime = _runtime.current()
        self.last_received = self.runtime.time()
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self.close_error: WebSocketError | None = None
        self.sent: list[Data] = []
        self.pings = 0
        self.answer_pings = True
        self.pong_delay = 0.01
        self.answer_close = True
        self.aborted = False
        self.closed_by_client: CloseFrame | None = None
        self.subprotocol = server.subprotocol
        self.response_headers = dict(server.response_headers)
        self._handler: Callable[[Message], object] | None = None
        self._queue: deque[Message] = deque()
        self._wire: deque[Message | bytes] = deque()  # unread inbound data while paused
        self._waiter: Signal | None = None
        self._pong_waiters: list[Signal] = []
        self._closed = self.runtime.signal()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The running asyncio loop, for the tests that run only on asyncio."""
        return asyncio.get_running_loop()

    # hooks ---------------------------------------------------------------------------------
    def set_message_handler(self, handler: Callable[[Message], object] | None) -> None:
        self._handler = handler

    async def send(self, data: Data) -> None:
        if self.close_code is not None:
            raise ConnectionClosed(self.close_code, self.close_reason or "")
        self.sent.append(data)
        await self.runtime.sleep(0)
        self.server.received(self, data)

    async def recv(self) -> Message:
        while not self._queue:
            if self.close_code is not None:
                raise ConnectionClosed(self.close_code, self.close_reason or "")
            if self._waiter is not None and not self._waiter.done():
                raise RuntimeError("recv() is already waiting in another task")  # as the real one
            self._waiter = self.runtime.signal()
            await self._waiter
        message = self._queue.popleft()
        self._pump()
        return message

    async def ping(self) -> float:
        if self.close_code is not None:
            raise ConnectionClosed(self.close_code)
        self.pings += 1
        start = self.runtime.time()
        waiter = self.runtime.signal()
        self._pong_waiters.append(waiter)
        if self.answer_pings:
            self.runtime.call_later(self.pong_delay, lambda: self._arrive(b"pong"))
        await waiter
        if self.close_code is not None:
            raise ConnectionClosed(self.close_code)
        return self.runtime.time() - start

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.closed_by_client = CloseFrame(code, reason)
        if self.close_code is None and not self.answer_close:
            await self.runtime.shielded(self._closed)  # the peer answers when the test says so
        if self.close_code is None:
            await self.runtime.sleep(0.01)  # the peer answers the close frame
            self._finish(CloseFrame(code, reason))

    async def wait_closed(self) -> CloseFrame:
        await self.runtime.shielded(self._closed)
        return CloseFrame(self.close_code or 1006, self.close_reason or "")

    def abort(self) -> None:
        self.aborted = True
        self._finish(CloseFrame(1006))

    # the peer's side -------------------------------------------------------------------------
    def push(self, *messages: Message) -> None:
        """The server sends messages."""
        for message in messages:
            self._arrive(message)

    def server_close(self, code: int = 1000, reason: str = "") -> None:
        self._finish(CloseFrame(code, reason))

    def drop(self, error: WebSocketError | None = None) -> None:
        self.close_error = error
        self._finish(CloseFrame(1006))

    @property
    def paused(self) -> bool:
        return len(self._queue) >= self.config.max_queue

    @property
    def reading_paused(self) -> bool | None:
        """The optional hook: True while inbound reading is paused for backpressure."""
        return self.paused

    # internals -------------------------------------------------------------------------------
    def _arrive(self, data: Message | bytes) -> None:
        if self.close_code is not None:
            return
        self._wire.append(data)
        self._pump()

    def _pump(self) -> None:
        while self._wire and not self.paused and self.close_code is None:
            data = self._wire.popleft()
            self.last_received = self.runtime.time()
            if data == b"pong":
                waiters, self._pong_waiters = self._pong_waiters, []
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_result(None)
            elif self._handler is not None:
                self._handler(data)
            else:
                self._queue.append(data)
                self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _finish(self, frame: CloseFrame) -> None:
        if self.close_code is not None:
            return
        self.close_code, self.close_reason = frame.code, frame.reason
        for waiter in self._pong_waiters:
            if not waiter.done():
                waiter.set_result(None)  # ping() raises: the connection is closed
        self._pong_waiters = []
        self._wake()
        self._closed.set_result(None)


# --- the fake server / opener ----------------------------------------------------------------
class FakeConnectionWithoutPauseHook(FakeConnection):
    """A connection that does not tell whether its reading is paused."""

    reading_paused = None


class FakeServer:
    """Opens FakeConnections. ``script`` holds the outcome of the next attempts, in order: an
    exception to raise, a number (seconds the attempt hangs, then succeeds), or None (success).
    When the script is empty, attempts succeed. ``attempts`` records the loop time of each.
    ``subprotocol`` and ``response_headers`` are what the next connections get."""

    def __init__(
        self,
        *script: BaseException | float | None,
        connection_class: type[FakeConnection] = FakeConnection,
    ) -> None:
        self.connection_class = connection_class
        self.script: deque[BaseException | float | None] = deque(script)
        self.attempts: list[float] = []
        self.connections: list[FakeConnection] = []
        self.inbox: list[tuple[int, Data]] = []
        self.on_receive: Callable[[FakeConnection, Data], None] | None = None
        self.subprotocol: str | None = None
        self.response_headers: dict[str, str] = {}

    async def open_connection(self, config: WebSocketConfig) -> FakeConnection:
        runtime = _runtime.current()
        self.attempts.append(runtime.time())
        outcome = self.script.popleft() if self.script else None
        await runtime.sleep(0.001)
        if isinstance(outcome, BaseException):
            raise outcome
        if isinstance(outcome, float | int):
            await runtime.sleep(outcome)
        conn = self.connection_class(self, config)
        self.connections.append(conn)
        return conn

    @property
    def current(self) -> FakeConnection:
        return self.connections[-1]

    def received(self, conn: FakeConnection, data: Data) -> None:
        self.inbox.append((self.connections.index(conn), data))
        if self.on_receive is not None:
            self.on_receive(conn, data)

    async def next_connection(self, count: int) -> FakeConnection:
        """Wait until ``count`` connections have been opened; return the last."""
        while len(self.connections) < count:
            await _runtime.current().sleep(0.001)
        return self.connections[count - 1]
