"""The embedded echo server (omniws.cli.demo_server) in-process: echo, subprotocol, drops,
restarts on the same port, and the chaos loop."""

from __future__ import annotations

import asyncio
import random

import pytest

import omniws
from omniws.cli.demo_server import chaos, start_echo_server


async def test_echo_and_subprotocol() -> None:
    server = await start_echo_server()
    try:
        async with omniws.connect(server.url, protocols=["v2", "v1"]) as ws:
            assert ws.subprotocol == "v2"
            await ws.send("text")
            assert await asyncio.wait_for(ws.recv(), 5) == "text"
            await ws.send(b"\x00\xff")
            assert await asyncio.wait_for(ws.recv(), 5) == b"\x00\xff"
        assert ws.close_code == 1000
    finally:
        await server.close()


async def test_drop_and_restart_on_the_same_port() -> None:
    server = await start_echo_server()
    try:
        port = server.port
        ws = await omniws.connect(server.url)
        await asyncio.sleep(0.05)
        assert server.drop_connections() == 1
        with pytest.raises(omniws.ConnectionClosed) as caught:
            await asyncio.wait_for(ws.recv(), 5)
        assert caught.value.code == 1006
        await server.stop_listening()
        assert not server.listening
        with pytest.raises(omniws.ConnectionFailed):
            await omniws.connect(server.url, connect_timeout=5)
        await server.start_listening()
        assert server.port == port
        async with omniws.connect(server.url) as again:
            await again.send("back")
            assert await asyncio.wait_for(again.recv(), 5) == "back"
    finally:
        await server.close()


async def test_a_client_rides_out_the_chaos() -> None:
    server = await start_echo_server()
    reports: list[str] = []
    task = asyncio.create_task(chaos(server, reports.append, 0.2, random.Random(7), rounds=15))
    config = omniws.WebSocketConfig(
        url=server.url, reconnect=omniws.ReconnectConfig(initial_delay=0.05, max_delay=0.2)
    )
    try:
        async with omniws.WebSocketClient(config) as client:
            for i in range(30):  # a message every 0.1 s while the server misbehaves
                await client.send(f"m{i}")
                await asyncio.sleep(0.1)
            await asyncio.wait_for(task, 30)
            await client.send("last")

            async def until_last() -> None:
                async for message in client:
                    if message == "last":
                        return

            await asyncio.wait_for(until_last(), 10)
            assert client.stats.reconnects >= 2
    finally:
        task.cancel()
        await server.close()
    assert any("dropped" in report for report in reports)
