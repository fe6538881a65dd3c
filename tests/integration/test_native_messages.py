"""omniws native client: data messages, pings and compression against real servers."""

from __future__ import annotations

import asyncio
import random

import pytest

import omniws

from .support import FRAGMENTS, pattern, recv

MIB = 1024 * 1024
BIG = 16 * MIB


def _big_binary() -> bytes:
    return random.Random(1234).randbytes(BIG)


def _big_text() -> str:
    unit = "omniws héllo wörld ✓ 😀 0123456789\n"  # 1-, 2-, 3- and 4-byte UTF-8 characters
    text = unit * (BIG // len(unit.encode()))
    tail = "".join(random.Random(99).choice("abcdé✓") for _ in range(1000))
    return text + tail  # a little over 16 MiB of UTF-8


async def test_echo_text(server_url: str) -> None:
    async with omniws.connect(f"{server_url}/echo", connect_timeout=5) as ws:
        for text in ("hello", "héllo wörld ✓ 😀", "x" * 125, "y" * 126, "z" * 65536):
            await ws.send(text)
            echoed = await recv(ws)
            assert isinstance(echoed, str)
            assert echoed == text


async def test_echo_binary(server_url: str) -> None:
    payload = bytes(range(256)) * 3
    async with omniws.connect(f"{server_url}/echo", connect_timeout=5) as ws:
        for data in (payload, bytearray(payload[:100]), memoryview(payload)[10:70000]):
            await ws.send(data)
            echoed = await recv(ws)
            assert isinstance(echoed, bytes)
            assert echoed == bytes(data)


async def test_echo_empty_messages(server_url: str) -> None:
    async with omniws.connect(f"{server_url}/echo", connect_timeout=5) as ws:
        await ws.send("")
        assert await recv(ws) == ""
        await ws.send(b"")
        assert await recv(ws) == b""


async def test_messages_keep_order(server_url: str) -> None:
    async with omniws.connect(f"{server_url}/echo", connect_timeout=5) as ws:
        for i in range(200):
            await ws.send(f"message {i}" if i % 2 else f"binary {i}".encode())
        for i in range(200):
            assert await recv(ws) == (f"message {i}" if i % 2 else f"binary {i}".encode())


@pytest.mark.parametrize("fixture", ["py_server", "py_server_plain"], ids=["deflate", "plain"])
async def test_echo_16_mib_binary(fixture: str, request: pytest.FixtureRequest) -> None:
    base: str = request.getfixturevalue(fixture)
    payload = _big_binary()
    async with omniws.connect(f"{base}/echo", connect_timeout=5) as ws:
        await ws.send(payload)
        echoed = await recv(ws, timeout=60)
        assert isinstance(echoed, bytes)
        assert len(echoed) == BIG
        assert echoed == payload


async def test_echo_16_mib_text(py_server: str) -> None:
    text = _big_text()
    async with omniws.connect(f"{py_server}/echo", connect_timeout=5) as ws:
        await ws.send(text)
        echoed = await recv(ws, timeout=60)
        assert isinstance(echoed, str)
        assert len(text.encode()) >= BIG
        assert echoed == text


@pytest.mark.parametrize("fixture", ["py_server", "py_server_plain"], ids=["deflate", "plain"])
async def test_receive_16_mib_from_server(fixture: str, request: pytest.FixtureRequest) -> None:
    base: str = request.getfixturevalue(fixture)
    async with omniws.connect(f"{base}/send?size={BIG}", connect_timeout=5) as ws:
        received = await recv(ws, timeout=60)
        assert isinstance(received, bytes)
        assert len(received) == BIG
        assert received == pattern(BIG)


async def test_receive_16_mib_from_node(node_server: str) -> None:
    async with omniws.connect(f"{node_server}/send?size={BIG}", connect_timeout=5) as ws:
        received = await recv(ws, timeout=60)
        assert received == pattern(BIG)


async def test_receive_fragmented_message(py_server_plain: str) -> None:
    async with omniws.connect(f"{py_server_plain}/fragmented", connect_timeout=5) as ws:
        message = await recv(ws)
        assert message == "".join(FRAGMENTS)
        await ws.send("after")  # the connection is still usable
        assert await recv(ws) == "after"


async def test_receive_fragmented_compressed_message(py_server: str) -> None:
    async with omniws.connect(f"{py_server}/fragmented", connect_timeout=5) as ws:
        assert await recv(ws) == "".join(FRAGMENTS)


async def test_ping_returns_rtt(server_url: str) -> None:
    async with omniws.connect(f"{server_url}/echo", connect_timeout=5) as ws:
        rtts = [await ws.ping() for _ in range(3)]
        for rtt in rtts:
            assert isinstance(rtt, float)
            assert 0 <= rtt < 5
        await ws.send("still open")
        assert await recv(ws) == "still open"


async def test_server_ping_is_answered(py_server: str) -> None:
    async with omniws.connect(f"{py_server}/ping", connect_timeout=5) as ws:
        assert await recv(ws) == "pong"  # the server saw our pong within 5 s
        await ws.send("x")
        assert await recv(ws) == "x"


async def test_compressed_echo(server_url: str) -> None:
    text = "compress me, compress me, compress me! " * 5000
    data = b"\x00\x01" * 40000
    async with omniws.connect(f"{server_url}/echo", connect_timeout=5) as ws:
        extensions = ws.response_headers.get("sec-websocket-extensions", "")
        assert "permessage-deflate" in extensions
        for _ in range(3):  # several messages: the compression context is carried over
            await ws.send(text)
            assert await recv(ws) == text
            await ws.send(data)
            assert await recv(ws) == data
            await ws.send("short")  # below the threshold: sent uncompressed
            assert await recv(ws) == "short"


async def test_compression_off_is_not_negotiated(py_server: str) -> None:
    async with omniws.connect(f"{py_server}/echo", compression=False, connect_timeout=5) as ws:
        assert "sec-websocket-extensions" not in ws.response_headers
        await ws.send("plain " * 1000)
        assert await recv(ws) == "plain " * 1000


async def test_plain_awaitable_connect(py_server: str) -> None:
    ws = await omniws.connect(f"{py_server}/echo", connect_timeout=5)
    try:
        await ws.send("awaited")
        assert await recv(ws) == "awaited"
    finally:
        await ws.close()
    assert ws.close_code == 1000


async def test_concurrent_send_and_receive(server_url: str) -> None:
    rng = random.Random(7)
    messages: list[str | bytes] = []
    for i in range(500):
        size = rng.choice([0, 1, 125, 126, 1000, 65535, 65536, 200_000])
        messages.append(f"{i}:" + "t" * size if i % 2 else bytes([i % 256]) * size)

    async def sender(ws: omniws.Connection) -> None:
        for message in messages:
            await ws.send(message)

    async with omniws.connect(f"{server_url}/echo", connect_timeout=5) as ws:
        send_task = asyncio.ensure_future(sender(ws))
        try:
            received = [await recv(ws, timeout=30) for _ in messages]
        finally:
            await asyncio.wait_for(send_task, 30)
    assert received == messages


async def test_slow_reader_with_small_queue(py_server: str) -> None:
    # max_queue=4: the client pauses reading while 4 messages wait, and resumes later.
    async with omniws.connect(f"{py_server}/echo", max_queue=4, connect_timeout=5) as ws:
        for i in range(100):
            await ws.send(f"queued {i}")
        await asyncio.sleep(0.2)  # let the echoes pile up against the paused transport
        for i in range(100):
            assert await recv(ws) == f"queued {i}"
