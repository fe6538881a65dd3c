"""omniws native client: misuse is refused clearly and leaves the connection working, and
a read split by the frame budget keeps its order up to the close frame."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest

import omniws

from .conftest import RawServerFactory
from .support import RawServer, frame, recv


async def test_a_second_concurrent_recv_fails_and_the_first_still_gets_the_message(
    py_server: str,
) -> None:
    async with omniws.connect(f"{py_server}/echo", connect_timeout=5) as ws:
        first = asyncio.ensure_future(ws.recv())
        await asyncio.sleep(0.05)  # first is waiting
        with pytest.raises(RuntimeError, match="already waiting in another task"):
            await asyncio.wait_for(ws.recv(), 5)
        await ws.send("for the first reader")
        assert await asyncio.wait_for(first, 5) == "for the first reader"
        await ws.send("next")  # and one reader at a time still works afterwards
        assert await recv(ws) == "next"


async def test_cancelled_recv_lets_another_task_read(py_server: str) -> None:
    async with omniws.connect(f"{py_server}/echo", connect_timeout=5) as ws:
        first = asyncio.ensure_future(ws.recv())
        await asyncio.sleep(0.02)
        first.cancel()
        await asyncio.gather(first, return_exceptions=True)
        await ws.send("x")
        assert await recv(ws) == "x"


def _loop_errors() -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    asyncio.get_running_loop().set_exception_handler(lambda _loop, ctx: errors.append(ctx))
    return errors


@pytest.mark.parametrize(
    ("payload", "error", "rule"),
    [
        (b"p" * 126, ValueError, "at most 125 bytes"),
        ("abc", TypeError, "must be bytes, not str"),
        (12, TypeError, "must be bytes, not int"),
    ],
)
async def test_invalid_ping_payload_registers_nothing(
    py_server: str, payload: Any, error: type, rule: str
) -> None:
    errors = _loop_errors()
    try:
        async with omniws.connect(f"{py_server}/echo", connect_timeout=5) as ws:
            for _ in range(2):  # the same call again gives the same error
                with pytest.raises(error, match=rule):
                    await ws.ping(payload)
            assert await asyncio.wait_for(ws.ping(b"ok"), 5) >= 0
        del ws
        gc.collect()
        await asyncio.sleep(0)
        assert not [e for e in errors if "never retrieved" in str(e.get("message"))], errors
    finally:
        asyncio.get_running_loop().set_exception_handler(None)


@pytest.mark.parametrize(
    ("code", "reason", "error", "rule"),
    [
        (70000, "", ValueError, "close code 70000 cannot be sent"),
        (-1, "", ValueError, "close code -1 cannot be sent"),
        (1005, "", ValueError, "1000 \\(normal\\)"),
        (1006, "", ValueError, "3000-4999"),
        ("4001", "", TypeError, "must be an int"),
        (4001.0, "", TypeError, "must be an int"),
        (4001, b"bytes", TypeError, "reason must be a str"),
        (4001, "x" * 124, ValueError, "123 UTF-8 bytes"),
    ],
)
async def test_invalid_close_is_refused_and_the_connection_stays_open(
    py_server: str, code: Any, reason: Any, error: type, rule: str
) -> None:
    async with omniws.connect(f"{py_server}/echo", connect_timeout=5) as ws:
        with pytest.raises(error, match=rule):
            await ws.close(code, reason)
        assert repr(ws).endswith(" open>") and not ws.closed
        await ws.send("still open")
        assert await recv(ws) == "still open"
        await asyncio.wait_for(ws.close(4000, "done"), 5)
        assert ws.close_code == 4000


@pytest.mark.parametrize("payload", [b"", (1001).to_bytes(2, "big")])
async def test_1005_and_1001_end_iteration_normally(
    raw_server: RawServerFactory, payload: bytes
) -> None:
    server = await raw_server(RawServer.handshake_then(frame(0x1, b"a") + frame(0x8, payload)))
    async with omniws.connect(server.url, connect_timeout=5, close_timeout=2) as ws:
        received = [message async for message in ws]
    assert received == ["a"]
    assert ws.close_code == (1005 if not payload else 1001)


@pytest.mark.parametrize("max_queue", [16, 100_000])
@pytest.mark.parametrize("hang_up", [False, True])
async def test_a_read_split_by_the_budget_keeps_order_up_to_the_close(
    raw_server: RawServerFactory, max_queue: int, hang_up: bool
) -> None:
    # many budgets' worth, then a close frame; with pings unless the server hangs up (it
    # would not read their pongs, and closing with unread data resets the connection)
    count, ping = 20_000, frame(0x9, b"") if not hang_up else b""
    wire = b"".join(
        (ping if i % 7 == 0 else b"") + frame(0x1, str(i).encode()) for i in range(count)
    )
    wire += frame(0x8, (4321).to_bytes(2, "big") + b"end")
    server = await raw_server(RawServer.handshake_then(wire, hang_up=hang_up))
    ws = await omniws.connect(server.url, max_queue=max_queue, compression=False, close_timeout=5)
    if hang_up and max_queue > count:  # (a full queue stops reading: the end waits)
        await asyncio.wait_for(ws.wait_closed(), 10)  # the TCP end came with the last bytes
    received = []
    with pytest.raises(omniws.ConnectionClosed) as info:
        for _ in range(count + 1):
            received.append(await recv(ws))
    assert received == [str(i) for i in range(count)]
    assert (info.value.code, info.value.reason) == (4321, "end")
    await asyncio.wait_for(ws.close(), 5)
    assert ws.close_code == 4321
