"""WebSocketClient under trio.run: reconnection, the heartbeat, send() while reconnecting.

The servers run on asyncio in a thread (trio_support); omniws runs under ``trio.run``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import trio
from trio_support import RecordingServer, ServerThread, wait_until
from websockets.asyncio.server import ServerConnection

from omniws import (
    CloseFrame,
    Connected,
    ConnectionState,
    ReconnectConfig,
    Reconnecting,
    WebSocketClient,
    WebSocketConfig,
    WebSocketError,
    WebSocketTimeout,
)

FAST = ReconnectConfig(initial_delay=0.05, max_delay=0.1, jitter=0.0)


@pytest.fixture
def servers() -> Iterator[ServerThread]:
    """The test's servers (``servers.server()``, ``servers.proxy()``), stopped after it."""
    with ServerThread() as thread:
        yield thread


async def restart_first(server: RecordingServer, ws: ServerConnection) -> None:
    """Echo; the first connection is closed 1012 "restart" after its first message."""
    if len(server.connections) == 1:
        message = await ws.recv()
        server.connections[-1].append(message)
        await ws.send(message)
        await ws.close(1012, "restart")
        return
    await RecordingServer.echo(server, ws)


def test_reconnects_after_the_server_closes(servers: ServerThread) -> None:
    server = servers.server(restart_first)
    states: list[str] = []
    opened: list[int] = []
    closes: list[CloseFrame] = []

    async def main() -> None:
        client = WebSocketClient(WebSocketConfig(server.url, reconnect=FAST))
        client.on_state_change(lambda state: states.append(type(state).__name__))
        client.on_open(lambda: opened.append(len(opened) + 1))
        client.on_close(closes.append)
        async with client:
            await client.send("first")
            assert await client.recv() == "first"
            await wait_until(lambda: len(opened) == 2, what="on_open after the reconnection")
            assert isinstance(client.state, Connected)
            await client.send("second")
            assert await client.recv() == "second"
            assert client.stats.reconnects == 1

    trio.run(main)
    assert states[:5] == ["Connecting", "Connected", "Reconnecting", "Connecting", "Connected"]
    assert states[-1] == "Disconnected"
    assert opened == [1, 2]
    assert closes[0] == CloseFrame(1012, "restart")
    assert closes[-1].code == 1000  # our own close, at the end
    assert server.connections == [["first"], ["second"]]


def test_reconnects_after_the_connection_drops(servers: ServerThread) -> None:
    server = servers.server()
    proxy = servers.proxy(server)
    closes: list[CloseFrame] = []

    async def main() -> None:
        client = WebSocketClient(WebSocketConfig(proxy.url, reconnect=FAST))
        client.on_close(closes.append)
        async with client:
            await client.send("one")
            assert await client.recv() == "one"
            assert servers.call(proxy.drop_all(rst=True)) == 1
            await wait_until(lambda: client.stats.reconnects == 1, what="a reconnection")
            await client.send("two")
            assert await client.recv() == "two"

    trio.run(main)
    assert closes[0].code == 1006
    assert server.connections == [["one"], ["two"]]


def test_heartbeat_finds_a_dead_connection(servers: ServerThread) -> None:
    server = servers.server()
    proxy = servers.proxy(server)
    states: list[ConnectionState] = []
    errors: list[WebSocketError] = []
    closes: list[CloseFrame] = []
    config = WebSocketConfig(
        proxy.url, reconnect=FAST, heartbeat_interval=0.2, heartbeat_timeout=0.5
    )

    async def main() -> None:
        client = WebSocketClient(config)
        client.on_state_change(states.append)
        client.on_error(errors.append)
        client.on_close(closes.append)
        async with client:
            await wait_until(lambda: client.stats.last_rtt is not None, what="a heartbeat")
            servers.call_sync(lambda: proxy.stall("both"))  # the peer goes silent
            await wait_until(
                lambda: any(isinstance(state, Reconnecting) for state in states),
                what="the heartbeat to give up",
            )
            servers.call_sync(proxy.resume)
            await wait_until(lambda: client.stats.reconnects == 1, what="a reconnection")
            await client.send("alive again")
            assert await client.recv() == "alive again"

    trio.run(main)
    timeouts = [e for e in errors if isinstance(e, WebSocketTimeout)]
    assert [t.operation for t in timeouts] == ["heartbeat"], errors
    assert closes[0].code == 1006
    assert server.connections[-1] == ["alive again"]


def test_send_while_reconnecting_waits_for_the_connection(servers: ServerThread) -> None:
    server = servers.server()
    proxy = servers.proxy(server)
    slow = ReconnectConfig(initial_delay=0.05, max_delay=0.1, jitter=0.0)
    config = WebSocketConfig(proxy.url, reconnect=slow, heartbeat_interval=None, send_timeout=30)

    async def main() -> None:
        async with WebSocketClient(config) as client:
            servers.call(proxy.stop(drop=True))  # the server is gone; the client retries
            await wait_until(
                lambda: not isinstance(client.state, Connected), what="the client to notice"
            )
            sent = trio.Event()

            async def send() -> None:
                await client.send("waited")
                sent.set()

            async with trio.open_nursery() as nursery:
                nursery.start_soon(send)
                await trio.sleep(0.3)
                assert not sent.is_set(), "send() returned while no server was there"
                servers.call(proxy.start())  # back on the same port
                with trio.fail_after(20):
                    await sent.wait()
            assert await client.recv() == "waited"

    trio.run(main)
    assert server.connections[-1] == ["waited"]
    assert server.received == ["waited"]  # sent once
