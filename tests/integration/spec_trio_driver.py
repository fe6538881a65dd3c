"""The trio driver of the shared API spec (spec_api.py): the async API under ``trio.run``.

``trio.run`` runs in a thread of its own for the driver's lifetime; every call of the spec
enters it with ``trio.from_thread.run`` (or ``run_sync`` for the attributes it reads), so the
connection and the client live in one trio run, as in a trio program. ``recv(timeout=)`` is a
``trio.fail_after`` scope: its TooSlowError becomes the WebSocketTimeout the other drivers
raise (AsyncDriver does the same with ``asyncio.wait_for``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import trio

import omniws

from .spec_drivers import Client, Conn, Message

T = TypeVar("T")


class TrioDriver:
    name = "trio"

    def __init__(self) -> None:
        self._started = threading.Event()
        self._token: trio.lowlevel.TrioToken | None = None
        self._stop: trio.Event | None = None
        self._crashed: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="TrioDriver", daemon=True)
        self._thread.start()
        if not self._started.wait(30) or self._token is None:
            raise RuntimeError(f"trio.run did not start in its thread: {self._crashed!r}")

    def _main(self) -> None:
        try:
            trio.run(self._serve)
        except BaseException as exc:  # reported by close()
            self._crashed = exc
            self._started.set()

    async def _serve(self) -> None:
        self._token = trio.lowlevel.current_trio_token()
        self._stop = trio.Event()
        self._started.set()
        await self._stop.wait()

    def run(self, function: Callable[..., Awaitable[T]], *args: Any) -> T:
        """``await function(*args)`` in the trio run, blocking this thread until it returns."""
        return trio.from_thread.run(function, *args, trio_token=self._token)

    def run_sync(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` in the trio thread (reads the client between its steps), or at
        once when called there (by the check of ``wait_until``)."""
        if threading.current_thread() is self._thread:
            return function(*args)
        return trio.from_thread.run_sync(function, *args, trio_token=self._token)

    def connect(self, url: str, **options: Any) -> Conn:
        async def opened() -> omniws.Connection:
            return await omniws.connect(url, **options)

        return _TrioConn(self, self.run(opened))

    def client(
        self, config: omniws.WebSocketConfig, on_open: Callable[[], None] | None = None
    ) -> Client:
        client = omniws.WebSocketClient(config)
        if on_open is not None:
            client.on_open(on_open)
        return _TrioClient(self, client)

    def wait_until(self, check: Callable[[], bool], timeout: float = 10.0) -> bool:
        async def poll() -> bool:
            deadline = time.monotonic() + timeout
            while not check():
                if time.monotonic() > deadline:
                    return False
                await trio.sleep(0.01)
            return True

        return self.run(poll)

    def close(self) -> None:
        """End the trio run (trio cancels any task a failed spec left), then its thread."""
        if self._stop is not None and self._thread.is_alive():
            self.run_sync(self._stop.set)
        self._thread.join(30)
        if self._thread.is_alive():
            raise RuntimeError("trio.run did not end within 30 s of the driver's close()")
        if self._crashed is not None:
            raise RuntimeError("trio.run ended with an error") from self._crashed


async def _recv(ws: Any, timeout: float | None) -> Message:
    if timeout is None:
        message: Message = await ws.recv()
        return message
    try:
        with trio.fail_after(timeout):
            message = await ws.recv()
            return message
    except trio.TooSlowError:
        raise omniws.WebSocketTimeout("recv", timeout) from None


class _TrioConn:
    def __init__(self, driver: TrioDriver, ws: omniws.Connection) -> None:
        self.driver, self.ws = driver, ws

    def send(self, message: Message) -> None:
        self.driver.run(self.ws.send, message)

    def recv(self, timeout: float | None = None) -> Message:
        return self.driver.run(_recv, self.ws, timeout)

    def drain(self) -> list[Message]:
        async def drain() -> list[Message]:
            return [message async for message in self.ws]

        return self.driver.run(drain)

    def ping(self) -> float:
        return self.driver.run(self.ws.ping)

    def close(self, code: int = 1000, reason: str = "") -> None:
        self.driver.run(self.ws.close, code, reason)

    @property
    def close_code(self) -> int | None:
        return self.driver.run_sync(lambda: self.ws.close_code)

    @property
    def subprotocol(self) -> str | None:
        return self.driver.run_sync(lambda: self.ws.subprotocol)

    @property
    def response_headers(self) -> dict[str, str]:
        return self.driver.run_sync(lambda: dict(self.ws.response_headers))


class _TrioClient:
    def __init__(self, driver: TrioDriver, client: omniws.WebSocketClient) -> None:
        self.driver, self.client = driver, client

    def connect(self) -> None:
        self.driver.run(self.client.connect)

    def send(self, message: Message) -> None:
        self.driver.run(self.client.send, message)

    def recv(self, timeout: float | None = None) -> Message:
        return self.driver.run(_recv, self.client, timeout)

    def close(self) -> None:
        self.driver.run(self.client.close)

    @property
    def state(self) -> omniws.ConnectionState:
        return self.driver.run_sync(lambda: self.client.state)

    @property
    def stats(self) -> omniws.ClientStats:
        return self.driver.run_sync(lambda: self.client.stats)
