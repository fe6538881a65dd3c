"""One spec of WebSocketClient, run on asyncio and on trio, in virtual time.

The client's retry, heartbeat and state logic exist once (omniws._runtime is the seam); these
scenarios prove they behave the same on both libraries: asyncio on the jumping-clock loop of
fakes.py, trio with ``MockClock(autojump_threshold=0)``. Each scenario also checks that the
client leaves no task behind.
"""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import trio
import trio.testing
from fakes import FakeServer, run

from omniws import _runtime
from omniws.client import HandlerError, WebSocketClient
from omniws.config import ReconnectConfig, WebSocketConfig
from omniws.errors import ConnectionClosed, ConnectionFailed, WebSocketError, WebSocketTimeout
from omniws.messages import CloseFrame
from omniws.state import Connected, ConnectionState, Disconnected, Failed, Reconnecting

REFUSED = ConnectionFailed("connection refused")
Scenario = Callable[[], Awaitable[None]]


def tasks_alive() -> int:
    if _runtime.current().name == "trio":
        return trio.lowlevel.current_statistics().tasks_living
    return len(asyncio.all_tasks())


def on_runtime(name: str, scenario: Scenario) -> None:
    async def checked() -> None:
        before = tasks_alive()
        if name == "trio":
            with trio.fail_after(3600):  # virtual seconds: the test hangs
                await scenario()
        else:
            await scenario()
        await _runtime.current().sleep(0)
        assert tasks_alive() == before, "the client left a task running"

    if name == "asyncio":
        run(checked())
    else:
        trio.run(checked, clock=trio.testing.MockClock(autojump_threshold=0))


RUNTIMES = pytest.mark.parametrize("runtime", ["asyncio", "trio"])


def make(server: FakeServer, **config: Any) -> WebSocketClient:
    config.setdefault("reconnect", ReconnectConfig(jitter=0, initial_delay=1, max_delay=8))
    config.setdefault("heartbeat_interval", None)
    return WebSocketClient(
        WebSocketConfig("ws://test.invalid/feed", **config),
        open_connection=server.open_connection,
        rng=random.Random(1),
    )


def kinds(states: list[ConnectionState]) -> list[str]:
    return [type(state).__name__ for state in states]


@RUNTIMES
def test_failed_attempts_back_off_exponentially(runtime: str) -> None:
    server = FakeServer(REFUSED, REFUSED, REFUSED)
    client = make(server)
    states: list[ConnectionState] = []
    client.on_state_change(states.append)

    async def scenario() -> None:
        await client.connect()
        await client.close()

    on_runtime(runtime, scenario)
    gaps = [
        later - earlier
        for earlier, later in zip(server.attempts, server.attempts[1:], strict=False)
    ]
    assert [round(gap) for gap in gaps] == [1, 2, 4]  # initial_delay 1, multiplier 2
    assert kinds(states) == [
        *["Connecting", "Reconnecting"] * 3,
        "Connecting",
        "Connected",
        "Closing",
        "Disconnected",
    ]
    assert [s.attempt for s in states if isinstance(s, Reconnecting)] == [1, 2, 3]


@RUNTIMES
def test_a_dropped_connection_is_replaced_and_on_open_runs_again(runtime: str) -> None:
    server = FakeServer()
    client = make(server)
    opened: list[int] = []
    closes: list[CloseFrame] = []
    client.on_close(closes.append)

    @client.on_open
    async def resubscribe() -> None:
        opened.append(len(server.connections))
        await client.send("subscribe")

    async def scenario() -> None:
        async with client:
            server.current.push("one")
            assert await client.recv() == "one"
            server.current.drop()
            second = await server.next_connection(2)
            second.push("two")
            assert await client.recv() == "two"
            assert isinstance(client.state, Connected)

    on_runtime(runtime, scenario)
    assert opened == [1, 2]
    assert [data for _, data in server.inbox] == ["subscribe", "subscribe"]
    assert closes[0] == CloseFrame(1006) and closes[-1].code == 1000
    assert client.stats.reconnects == 1


@RUNTIMES
def test_the_heartbeat_finds_a_dead_connection(runtime: str) -> None:
    server = FakeServer()
    client = make(server, heartbeat_interval=5, heartbeat_timeout=2)
    errors: list[WebSocketError] = []
    client.on_error(errors.append)

    async def scenario() -> None:
        async with client:
            first = server.current
            first.answer_pings = False
            started = _runtime.current().time()
            await server.next_connection(2)
            took = _runtime.current().time() - started
            assert 7 <= took < 10, took  # 5 s of silence, then 2 s without a pong, then 1 s
            assert first.aborted

    on_runtime(runtime, scenario)
    assert [type(e) for e in errors] == [WebSocketTimeout]
    assert isinstance(errors[0], WebSocketTimeout) and errors[0].operation == "heartbeat"


@RUNTIMES
def test_send_waits_for_the_next_connection(runtime: str) -> None:
    server = FakeServer(None, REFUSED)
    client = make(server)

    async def scenario() -> None:
        async with client:
            server.current.drop()
            await _runtime.current().sleep(0.01)
            assert isinstance(client.state, Reconnecting)
            await client.send("after the drop")  # waits out the refused attempt, too

    on_runtime(runtime, scenario)
    assert server.inbox == [(1, "after the drop")]


@RUNTIMES
def test_close_during_a_backoff_ends_at_once(runtime: str) -> None:
    server = FakeServer(*[REFUSED] * 50)
    client = make(server, reconnect=ReconnectConfig(initial_delay=1000, max_delay=1000, jitter=0))
    states: list[ConnectionState] = []
    client.on_state_change(states.append)

    async def scenario() -> None:
        client_runtime = _runtime.current()
        start = client_runtime.spawn(client.connect(), "connect")
        while not isinstance(client.state, Reconnecting):
            await client_runtime.sleep(0.001)
        started = client_runtime.time()
        await client.close()
        assert client_runtime.time() - started < 1
        await client_runtime.wait_all((start,), None)
        with pytest.raises(ConnectionClosed):
            start.result()

    on_runtime(runtime, scenario)
    assert isinstance(states[-1], Disconnected)
    assert len(server.attempts) == 1


@RUNTIMES
def test_attempts_run_out_into_failed(runtime: str) -> None:
    server = FakeServer(*[REFUSED] * 5)
    client = make(server, reconnect=ReconnectConfig(max_attempts=2, jitter=0))

    async def scenario() -> None:
        with pytest.raises(ConnectionFailed):
            await client.connect()
        assert isinstance(client.state, Failed) and client.state.recoverable
        await client.close()

    on_runtime(runtime, scenario)
    assert len(server.attempts) == 3


@RUNTIMES
def test_handlers_run_in_order_and_their_errors_are_reported(runtime: str) -> None:
    server = FakeServer()
    client = make(server)
    seen: list[object] = []
    errors: list[WebSocketError] = []
    client.on_error(errors.append)

    @client.on_message
    async def handle(message: object) -> None:
        await _runtime.current().sleep(0.01 if message == "a" else 0)
        seen.append(message)
        if message == "b":
            raise ValueError("bad b")

    async def scenario() -> None:
        async with client:
            server.current.push("a", "b", "c")
            while len(seen) < 3:
                await _runtime.current().sleep(0.01)

    on_runtime(runtime, scenario)
    assert seen == ["a", "b", "c"]
    assert len(errors) == 1 and isinstance(errors[0], HandlerError)


@RUNTIMES
def test_a_timed_out_recv_loses_no_message(runtime: str) -> None:
    server = FakeServer()
    client = make(server)
    got: list[object] = []

    async def scenario() -> None:
        library = _runtime.current()
        async with client:
            for index in range(20):
                if index % 2:
                    library.call_later(0.5, lambda i=index: server.current.push(f"m{i}"))
                else:
                    server.current.push(f"m{index}")
                try:
                    got.append(await library.timeout(client.recv(), 0.25))
                except TimeoutError:
                    got.append(await client.recv())

    on_runtime(runtime, scenario)
    assert got == [f"m{index}" for index in range(20)]


@RUNTIMES
def test_a_normal_close_ends_a_client_that_does_not_retry_it(runtime: str) -> None:
    server = FakeServer()
    client = make(server, reconnect=ReconnectConfig(retry_on_normal_close=False))
    closes: list[CloseFrame] = []
    client.on_close(closes.append)

    async def scenario() -> None:
        await client.connect()
        server.current.server_close(1000, "bye")
        with pytest.raises(ConnectionClosed):
            await client.recv()
        assert isinstance(client.state, Disconnected)
        await client.close()

    on_runtime(runtime, scenario)
    assert closes == [CloseFrame(1000, "bye")]
    assert len(server.attempts) == 1


def test_omniws_needs_no_trio() -> None:
    """Without trio installed (an import of it fails), omniws imports, runs on asyncio and
    never loads its trio part; calls from outside any event loop say what to do."""
    code = """
import asyncio, sys
sys.modules["trio"] = None  # as if it were not installed: `import trio` raises ImportError
import omniws, omniws.sync
from omniws import _runtime
assert _runtime.current.__name__ == "current"
async def main():
    return _runtime.current().name
assert asyncio.run(main()) == "asyncio"
try:
    _runtime.current()
except RuntimeError as exc:
    assert "asyncio.run() or trio.run()" in str(exc), exc
else:
    raise AssertionError("no error outside an event loop")
loaded = [n for n, m in sys.modules.items() if m and n.startswith(("omniws.trio_io", "trio"))]
assert not loaded, loaded
print("ok")
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.stdout.strip() == "ok", result.stderr
