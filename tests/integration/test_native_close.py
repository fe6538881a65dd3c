"""omniws native client: the closing handshake, started by either side."""

from __future__ import annotations

import asyncio
import uuid

import pytest

import omniws

from .support import collect, recv, server_report


async def test_server_close_with_code_and_reason(server_url: str) -> None:
    async with omniws.connect(f"{server_url}/close?code=4001&reason=bye", connect_timeout=5) as ws:
        with pytest.raises(omniws.ConnectionClosed) as info:
            await recv(ws)
        assert info.value.code == 4001
        assert info.value.reason == "bye"
        assert ws.close_code == 4001
        assert ws.close_reason == "bye"
        with pytest.raises(omniws.ConnectionClosed):  # and it stays closed
            await recv(ws)


async def test_server_close_ends_async_for_on_1000(server_url: str) -> None:
    async with omniws.connect(f"{server_url}/close?code=1000&reason=ok", connect_timeout=5) as ws:
        received = await collect(ws)  # ends without an error on a normal closure
        assert received == []
        assert ws.close_code == 1000
        assert ws.close_reason == "ok"


async def test_server_close_4001_raises_from_async_for(py_server: str) -> None:
    async with omniws.connect(f"{py_server}/close?code=4001&reason=bye", connect_timeout=5) as ws:
        with pytest.raises(omniws.ConnectionClosed) as info:
            await collect(ws)
        assert (info.value.code, info.value.reason) == (4001, "bye")


async def test_open_connection_has_no_close_code(py_server: str) -> None:
    async with omniws.connect(f"{py_server}/echo", connect_timeout=5) as ws:
        assert ws.close_code is None
        assert ws.close_reason is None


async def test_client_close_is_seen_by_server(server_url: str) -> None:
    record_id = uuid.uuid4().hex
    async with omniws.connect(f"{server_url}/record?id={record_id}", connect_timeout=5) as ws:
        await ws.send("before close")
        assert await recv(ws) == "before close"
        await asyncio.wait_for(ws.close(4000, "done"), 10)
        assert ws.close_code == 4000  # the server echoed our close frame
        assert ws.close_reason == "done"
        await asyncio.wait_for(ws.close(4000, "done"), 10)  # idempotent
        with pytest.raises(omniws.ConnectionClosed):
            await recv(ws)
        with pytest.raises(omniws.ConnectionClosed):
            await ws.send("after close")
    assert await server_report(server_url, record_id) == {"code": 4000, "reason": "done"}


async def test_leaving_async_with_closes_normally(server_url: str) -> None:
    record_id = uuid.uuid4().hex
    async with omniws.connect(f"{server_url}/record?id={record_id}", connect_timeout=5) as ws:
        await ws.send("x")
        assert await recv(ws) == "x"
    assert ws.close_code == 1000
    report = await server_report(server_url, record_id)
    assert report["code"] == 1000


async def test_close_without_reading_pending_messages(py_server: str) -> None:
    record_id = uuid.uuid4().hex
    async with omniws.connect(f"{py_server}/record?id={record_id}", connect_timeout=5) as ws:
        for i in range(50):
            await ws.send(f"unread {i}")
        await asyncio.wait_for(ws.close(4002, "not reading"), 10)
    assert await server_report(py_server, record_id) == {"code": 4002, "reason": "not reading"}


async def test_send_after_abort_raises_instead_of_vanishing(py_server: str) -> None:
    ws = await omniws.connect(f"{py_server}/echo", connect_timeout=5)
    ws.abort()
    assert ws.close_code == 1006  # closed at once, not on the next loop step
    with pytest.raises(omniws.ConnectionClosed) as info:
        await ws.send("lost?")
    assert info.value.code == 1006
    with pytest.raises(omniws.ConnectionClosed):
        await ws.recv()
    assert (await asyncio.wait_for(ws.wait_closed(), 5)).code == 1006
