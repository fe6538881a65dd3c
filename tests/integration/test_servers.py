"""Self-checks of the test servers with the `websockets` client (independent of omniws).

When a native test fails, these tell whether the server or omniws is to blame.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import uuid

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from .conftest import RawServerFactory
from .support import DEFAULT_TIMEOUT, FRAGMENTS, RawServer, pattern, server_report


async def test_echo_text_and_binary(server_url: str) -> None:
    async with connect(f"{server_url}/echo") as ws:
        await ws.send("héllo")
        assert await asyncio.wait_for(ws.recv(), DEFAULT_TIMEOUT) == "héllo"
        await ws.send(b"\x00\x01\xff")
        assert await asyncio.wait_for(ws.recv(), DEFAULT_TIMEOUT) == b"\x00\x01\xff"


async def test_headers_route(server_url: str) -> None:
    async with connect(
        f"{server_url}/headers", additional_headers={"X-Check": "1"}, user_agent_header="probe/1"
    ) as ws:
        headers = json.loads(await asyncio.wait_for(ws.recv(), DEFAULT_TIMEOUT))
    assert headers["x-check"] == "1"
    assert headers["user-agent"] == "probe/1"


async def test_subprotocol_route(server_url: str) -> None:
    async with connect(f"{server_url}/subprotocol", subprotocols=["other", "superchat"]) as ws:  # type: ignore[list-item]
        assert await asyncio.wait_for(ws.recv(), DEFAULT_TIMEOUT) == "superchat"
        assert ws.subprotocol == "superchat"


async def test_close_route(server_url: str) -> None:
    async with connect(f"{server_url}/close?code=4001&reason=bye") as ws:
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), DEFAULT_TIMEOUT)
        assert ws.close_code == 4001
        assert ws.close_reason == "bye"


async def test_record_and_report(server_url: str) -> None:
    record_id = uuid.uuid4().hex
    async with connect(f"{server_url}/record?id={record_id}") as ws:
        await ws.close(4000, "done")
    assert await server_report(server_url, record_id) == {"code": 4000, "reason": "done"}


async def test_send_route(server_url: str) -> None:
    async with connect(f"{server_url}/send?size=300000", max_size=None) as ws:
        assert await asyncio.wait_for(ws.recv(), DEFAULT_TIMEOUT) == pattern(300000)


async def test_fragmented_and_ping_routes(py_server: str) -> None:
    async with connect(f"{py_server}/fragmented") as ws:
        assert await asyncio.wait_for(ws.recv(), DEFAULT_TIMEOUT) == "".join(FRAGMENTS)
    async with connect(f"{py_server}/ping") as ws:
        assert await asyncio.wait_for(ws.recv(), DEFAULT_TIMEOUT) == "pong"


@pytest.mark.parametrize("status", [401, 404, 503])
async def test_status_routes(py_server: str, status: int) -> None:
    with pytest.raises(InvalidStatus) as info:
        async with connect(f"{py_server}/status/{status}"):
            pass
    response = info.value.response
    assert response.status_code == status
    assert response.body is not None and str(status).encode() in response.body
    assert response.headers.get("Retry-After") == ("7" if status == 503 else None)


async def test_wss_and_ipv6(wss_server: str, client_ssl: ssl.SSLContext, py_server_v6: str) -> None:
    async with connect(f"{wss_server}/echo", ssl=client_ssl) as ws:
        await ws.send("tls")
        assert await asyncio.wait_for(ws.recv(), DEFAULT_TIMEOUT) == "tls"
    async with connect(f"{py_server_v6}/echo") as ws:
        await ws.send("v6")
        assert await asyncio.wait_for(ws.recv(), DEFAULT_TIMEOUT) == "v6"


async def test_raw_server_handshake(raw_server: RawServerFactory) -> None:
    server = await raw_server(RawServer.handshake_then(b"\x81\x02hi"))
    async with connect(server.url, compression=None) as ws:
        assert await asyncio.wait_for(ws.recv(), DEFAULT_TIMEOUT) == "hi"
    await asyncio.wait_for(server.done.wait(), DEFAULT_TIMEOUT)
    assert [f.close_code for f in server.client_close_frames()] == [1000]
