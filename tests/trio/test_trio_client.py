"""``omniws.connect`` and ``WebSocketClient`` under trio, picking the trio Connection by
themselves: messages, heartbeat pings, a reconnection after the server drops the link, and no
task left once the client is closed."""

from __future__ import annotations

import trio
from trio_servers import echo_frames, start_server

import omniws
from omniws import ConfigError, ReconnectConfig, WebSocketClient, WebSocketConfig
from omniws.trio_io import Connection


def client(url: str, **options: object) -> WebSocketClient:
    config = WebSocketConfig(url=url, connect_timeout=10, close_timeout=5, **options)  # type: ignore[arg-type]
    return WebSocketClient(config)


def test_connect_under_trio_opens_a_trio_connection(py_server: str) -> None:
    async def main() -> None:
        async with omniws.connect(f"{py_server}/echo", close_timeout=5) as ws:
            assert isinstance(ws, Connection)  # trio's streams, not asyncio's
            await ws.send("hello")
            assert await ws.recv() == "hello"
        assert ws.close_code == 1000
        plain = await omniws.connect(f"{py_server}/echo")  # the awaitable form too
        await plain.close()
        assert plain.closed

    trio.run(main)


def test_an_asyncio_transport_under_trio_is_a_config_error(py_server: str) -> None:
    async def main() -> None:
        for transport in ("fast", "asyncio"):
            try:
                await omniws.connect(f"{py_server}/echo", transport=transport)  # type: ignore[arg-type]
            except ConfigError as exc:
                assert "transport='auto'" in str(exc)
            else:
                raise AssertionError(f"transport={transport!r} was accepted under trio")

    trio.run(main)


def test_client_sends_receives_and_pings(py_server: str) -> None:
    async def main() -> None:
        baseline = trio.lowlevel.current_statistics().tasks_living
        ws = client(f"{py_server}/echo", heartbeat_interval=0.05)
        async with ws:
            await ws.send("one")
            await ws.send(b"two")
            assert [await ws.recv(), await ws.recv()] == ["one", b"two"]
            await trio.sleep(0.3)  # several heartbeats
            await ws.send("still here")
            assert await ws.recv() == "still here"
            assert ws.stats.last_rtt is not None  # a heartbeat ping was answered
        assert trio.lowlevel.current_statistics().tasks_living == baseline

    trio.run(main)


def test_client_reconnects_after_a_drop() -> None:
    connections = 0

    async def drop_first(stream: trio.SocketStream) -> None:
        nonlocal connections
        connections += 1
        if connections == 1:
            return  # the link drops right after the handshake
        await echo_frames(stream)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            url = await start_server(nursery, drop_first)
            opened = 0
            ws = client(url, reconnect=ReconnectConfig(initial_delay=0.01, max_delay=0.05))

            @ws.on_open
            def count() -> None:
                nonlocal opened
                opened += 1

            async with ws:
                with trio.fail_after(10):
                    while opened < 2:
                        await trio.sleep(0.01)
                    await ws.send("after the drop")
                    assert await ws.recv() == "after the drop"
            assert connections == 2
            nursery.cancel_scope.cancel()

    trio.run(main)
