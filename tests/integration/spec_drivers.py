"""Drivers of the shared API spec (spec_api.py): one blocking interface over each front end.

``AsyncDriver`` runs the async API (``omniws.connect``, ``omniws.WebSocketClient``) on an
event loop of its own, one ``run_until_complete`` per call; ``SyncDriver`` calls
``omniws.sync`` directly; ``TrioDriver`` (spec_trio_driver.py) runs the async API under
``trio.run``. A spec written against :class:`Driver` therefore checks that every front end
behaves the same.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol, TypeVar

import omniws
import omniws.sync

T = TypeVar("T")
Message = str | bytes


class Conn(Protocol):
    """One connection, as the spec sees it."""

    def send(self, message: Message) -> None: ...
    def recv(self, timeout: float | None = None) -> Message: ...
    def drain(self) -> list[Message]: ...  # iterate until the iteration ends (or raises)
    def ping(self) -> float: ...
    def close(self, code: int = 1000, reason: str = "") -> None: ...
    @property
    def close_code(self) -> int | None: ...
    @property
    def subprotocol(self) -> str | None: ...
    @property
    def response_headers(self) -> dict[str, str]: ...


class Client(Protocol):
    """A supervised client, as the spec sees it."""

    def connect(self) -> None: ...
    def send(self, message: Message) -> None: ...
    def recv(self, timeout: float | None = None) -> Message: ...
    def close(self) -> None: ...
    @property
    def state(self) -> omniws.ConnectionState: ...
    @property
    def stats(self) -> omniws.ClientStats: ...


class Driver(Protocol):
    name: str

    def connect(self, url: str, **options: Any) -> Conn: ...
    def client(
        self, config: omniws.WebSocketConfig, on_open: Callable[[], None] | None = None
    ) -> Client: ...
    def wait_until(self, check: Callable[[], bool], timeout: float = 10.0) -> bool: ...
    def close(self) -> None: ...


# --- async ---------------------------------------------------------------------------------
class AsyncDriver:
    name = "async"

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    def connect(self, url: str, **options: Any) -> Conn:
        return _AsyncConn(self, self.run(_opened(omniws.connect(url, **options))))

    def client(
        self, config: omniws.WebSocketConfig, on_open: Callable[[], None] | None = None
    ) -> Client:
        client = omniws.WebSocketClient(config)
        if on_open is not None:
            client.on_open(on_open)
        return _AsyncClient(self, client)

    def wait_until(self, check: Callable[[], bool], timeout: float = 10.0) -> bool:
        async def poll() -> bool:
            deadline = time.monotonic() + timeout
            while not check():
                if time.monotonic() > deadline:
                    return False
                await asyncio.sleep(0.01)
            return True

        return self.run(poll())

    def close(self) -> None:
        """End what a failed spec left running, then the loop."""
        tasks = asyncio.all_tasks(self.loop)
        for task in tasks:
            task.cancel()
        if tasks:
            self.run(asyncio.wait(tasks, timeout=10))
        self.loop.close()


async def _opened(opener: Awaitable[omniws.Connection]) -> omniws.Connection:
    return await opener


async def _recv(ws: Any, timeout: float | None) -> Message:
    if timeout is None:
        message: Message = await ws.recv()
        return message
    try:
        message = await asyncio.wait_for(ws.recv(), timeout)
        return message
    except asyncio.TimeoutError:
        raise omniws.WebSocketTimeout("recv", timeout) from None


class _AsyncConn:
    def __init__(self, driver: AsyncDriver, ws: omniws.Connection) -> None:
        self.driver, self.ws = driver, ws

    def send(self, message: Message) -> None:
        self.driver.run(self.ws.send(message))

    def recv(self, timeout: float | None = None) -> Message:
        return self.driver.run(_recv(self.ws, timeout))

    def drain(self) -> list[Message]:
        async def drain() -> list[Message]:
            return [message async for message in self.ws]

        return self.driver.run(drain())

    def ping(self) -> float:
        return self.driver.run(self.ws.ping())

    def close(self, code: int = 1000, reason: str = "") -> None:
        self.driver.run(self.ws.close(code, reason))

    @property
    def close_code(self) -> int | None:
        return self.ws.close_code

    @property
    def subprotocol(self) -> str | None:
        return self.ws.subprotocol

    @property
    def response_headers(self) -> dict[str, str]:
        return dict(self.ws.response_headers)


class _AsyncClient:
    def __init__(self, driver: AsyncDriver, client: omniws.WebSocketClient) -> None:
        self.driver, self.client = driver, client

    def connect(self) -> None:
        self.driver.run(self.client.connect())

    def send(self, message: Message) -> None:
        self.driver.run(self.client.send(message))

    def recv(self, timeout: float | None = None) -> Message:
        return self.driver.run(_recv(self.client, timeout))

    def close(self) -> None:
        self.driver.run(self.client.close())

    @property
    def state(self) -> omniws.ConnectionState:
        return self.client.state

    @property
    def stats(self) -> omniws.ClientStats:
        return self.client.stats


# --- sync ----------------------------------------------------------------------------------
class _SyncConn:
    def __init__(self, ws: omniws.sync.Connection) -> None:
        self.ws = ws

    def send(self, message: Message) -> None:
        self.ws.send(message)

    def recv(self, timeout: float | None = None) -> Message:
        return self.ws.recv(timeout)

    def drain(self) -> list[Message]:
        return list(self.ws)

    def ping(self) -> float:
        return self.ws.ping()

    def close(self, code: int = 1000, reason: str = "") -> None:
        self.ws.close(code, reason)

    @property
    def close_code(self) -> int | None:
        return self.ws.close_code

    @property
    def subprotocol(self) -> str | None:
        return self.ws.subprotocol

    @property
    def response_headers(self) -> dict[str, str]:
        return self.ws.response_headers


class SyncDriver:
    name = "sync"

    def connect(self, url: str, **options: Any) -> Conn:
        return _SyncConn(omniws.sync.connect(url, **options))

    def client(
        self, config: omniws.WebSocketConfig, on_open: Callable[[], None] | None = None
    ) -> Client:
        client = omniws.sync.WebSocketClient(config)
        if on_open is not None:
            client.on_open(on_open)
        return client

    def wait_until(self, check: Callable[[], bool], timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def close(self) -> None:
        pass
