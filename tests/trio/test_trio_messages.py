"""Messages under trio against the `websockets` server: echo, large and compressed
messages, fragments, subprotocols, headers, pings, close codes and max_message_size."""

from __future__ import annotations

import json

import pytest
import trio
from conftest import open_ws
from trio_servers import frame, read_frame, start_server

from omniws import ConnectionClosed, MessageTooLarge
from omniws.trio_io import Connection


def pattern(size: int) -> bytes:
    return (bytes(range(256)) * (size // 256 + 1))[:size]


def test_echo_text_and_binary(py_server: str) -> None:
    async def main() -> None:
        async with await open_ws(f"{py_server}/echo", compression=False) as ws:
            for message in ("hello", "", "héllo ✓", b"\x00\xff" * 10, b""):
                await ws.send(message)
                assert await ws.recv() == message
            assert ws.response_headers.get("sec-websocket-extensions") is None

    trio.run(main)


def test_large_and_compressed_messages(py_server: str) -> None:
    async def main() -> None:
        async with await open_ws(f"{py_server}/echo") as ws:
            assert "permessage-deflate" in ws.response_headers["sec-websocket-extensions"]
            big = pattern(3 * 1024 * 1024 + 7)
            await ws.send(big)
            assert await ws.recv() == big
            text = "compress me " * 20000
            await ws.send(text)
            assert await ws.recv() == text
            many = [f"message {i}" for i in range(500)]
            for message in many:
                ws.send_nowait(message)
            assert [await ws.recv() for _ in many] == many

    trio.run(main)


def test_fragments_subprotocol_and_headers(py_server: str) -> None:
    async def main() -> None:
        async with await open_ws(f"{py_server}/fragmented") as ws:
            assert await ws.recv() == "frag-one|frag-two|frag-three"
        async with await open_ws(f"{py_server}/subprotocol", protocols=["superchat"]) as ws:
            assert ws.subprotocol == "superchat"
            assert await ws.recv() == "superchat"
        async with await open_ws(f"{py_server}/headers", headers={"X-Token": "t0k"}) as ws:
            headers = json.loads(await ws.recv())
            assert headers["x-token"] == "t0k"

    trio.run(main)


def test_ping_round_trip_and_server_pings(py_server: str) -> None:
    async def main() -> None:
        async with await open_ws(f"{py_server}/ping") as ws:
            assert await ws.recv() == "pong"  # the server's ping was answered
            rtt = await ws.ping()
            assert 0 < rtt < 10
            results: dict[bytes, float] = {}
            async with trio.open_nursery() as nursery:
                for payload in (b"a", b"b", b"c"):
                    nursery.start_soon(_ping, ws, payload, results)
            assert len(results) == 3
            with pytest.raises(ValueError, match="125"):
                await ws.ping(b"x" * 126)

    trio.run(main)


async def _ping(ws: Connection, payload: bytes, results: dict[bytes, float]) -> None:
    results[payload] = await ws.ping(payload)


def test_earlier_pings_are_answered_by_a_later_pong() -> None:
    async def swallow_first_ping(stream: trio.SocketStream) -> None:
        buffer = bytearray()
        while True:
            opcode, payload = await read_frame(stream, buffer)
            if opcode == 0x9 and payload != b"first":
                await stream.send_all(frame(payload, 0xA))

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            url = await start_server(nursery, swallow_first_ping)
            ws = await open_ws(url)
            rtts: dict[bytes, float] = {}
            async with trio.open_nursery() as pings:
                pings.start_soon(_ping, ws, b"first", rtts)
                await trio.sleep(0.05)
                assert rtts == {}  # no pong for it yet
                pings.start_soon(_ping, ws, b"second", rtts)
            assert rtts.keys() == {b"first", b"second"}
            assert rtts[b"first"] > rtts[b"second"]  # sent earlier, answered by the same pong
            ws.abort()
            nursery.cancel_scope.cancel()

    trio.run(main)


def test_close_codes(py_server: str) -> None:
    async def main() -> None:
        ws = await open_ws(f"{py_server}/close?code=4001&reason=bye")
        with pytest.raises(ConnectionClosed) as info:
            await ws.recv()
        assert (info.value.code, info.value.reason) == (4001, "bye")
        frame = await ws.wait_closed()
        assert (frame.code, frame.reason) == (4001, "bye")
        assert (ws.close_code, ws.close_reason) == (4001, "bye")

        ws = await open_ws(f"{py_server}/close?code=1000")
        assert [message async for message in ws] == []  # 1000 ends iteration normally
        ws = await open_ws(f"{py_server}/record?id=trio-close")
        await ws.close(4321, "trio says bye")
        assert ws.close_code == 4321 and ws.closed
        with pytest.raises(ConnectionClosed):
            await ws.send("late")
        async with await open_ws(f"{py_server}/report?id=trio-close") as report:
            assert json.loads(await report.recv()) == {"code": 4321, "reason": "trio says bye"}

    trio.run(main)


def test_max_message_size(py_server: str) -> None:
    async def main() -> None:
        ws = await open_ws(f"{py_server}/send?size=5000", max_message_size=4096)
        with pytest.raises(MessageTooLarge) as info:
            await ws.recv()
        assert info.value.max_size == 4096
        await ws.wait_closed()
        assert ws.close_code == 1009
        async with await open_ws(f"{py_server}/send?size=4096", max_message_size=4096) as ws:
            assert await ws.recv() == pattern(4096)

    trio.run(main)
