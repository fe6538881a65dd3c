"""omniws native client: the opening handshake, TLS, IPv6 and connection failures."""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from urllib.parse import urlsplit

import pytest

import omniws

from .conftest import RawServerFactory
from .support import RawServer, free_port, recv


@pytest.mark.parametrize(
    ("offered", "selected"),
    [
        (["chat"], "chat"),
        (["superchat", "chat"], "superchat"),
        (["other", "chat"], "chat"),
        (["other"], None),
        ([], None),
    ],
)
async def test_subprotocol_negotiation(
    server_url: str, offered: list[str], selected: str | None
) -> None:
    async with omniws.connect(
        f"{server_url}/subprotocol", protocols=offered, connect_timeout=5
    ) as ws:
        assert ws.subprotocol == selected
        assert await recv(ws) == (selected or "")  # what the server says it chose


async def test_custom_headers_user_agent_and_origin(server_url: str) -> None:
    async with omniws.connect(
        f"{server_url}/headers",
        headers={"X-Token": "t-123", "X-Trace-Id": "abc"},
        origin="http://app.example.test",
        connect_timeout=5,
    ) as ws:
        received = await recv(ws)
    assert isinstance(received, str)
    headers = json.loads(received)
    assert headers["x-token"] == "t-123"
    assert headers["x-trace-id"] == "abc"
    assert headers["origin"] == "http://app.example.test"
    assert headers["user-agent"].startswith("omniws/")
    assert headers["upgrade"].lower() == "websocket"
    assert "upgrade" in headers["connection"].lower()
    assert headers["sec-websocket-version"] == "13"
    assert headers["host"] == urlsplit(server_url).netloc


async def test_custom_user_agent_and_no_origin(py_server: str) -> None:
    async with omniws.connect(
        f"{py_server}/headers", user_agent="my-app/2.0", connect_timeout=5
    ) as ws:
        headers = json.loads(await recv(ws))
    assert headers["user-agent"] == "my-app/2.0"
    assert "origin" not in headers


async def test_compression_offer_is_sent(py_server: str) -> None:
    async with omniws.connect(f"{py_server}/headers", connect_timeout=5) as ws:
        headers = json.loads(await recv(ws))
    assert "permessage-deflate" in headers["sec-websocket-extensions"]
    async with omniws.connect(f"{py_server}/headers", compression=False, connect_timeout=5) as ws:
        headers = json.loads(await recv(ws))
    assert "sec-websocket-extensions" not in headers


async def test_response_headers_are_lower_case(py_server: str) -> None:
    async with omniws.connect(f"{py_server}/echo", connect_timeout=5) as ws:
        headers = ws.response_headers
        assert headers, "no response headers kept"
        assert all(name == name.lower() for name in headers)
        assert headers["upgrade"].lower() == "websocket"
        assert "sec-websocket-accept" in headers


@pytest.mark.parametrize(
    ("status", "recoverable", "retry_after"),
    [(401, False, None), (404, False, None), (503, True, 7.0)],
)
async def test_handshake_rejected(
    py_server: str, status: int, recoverable: bool, retry_after: float | None
) -> None:
    with pytest.raises(omniws.HandshakeRejected) as info:
        async with omniws.connect(f"{py_server}/status/{status}", connect_timeout=5):
            pytest.fail("the handshake should have been rejected")
    error = info.value
    assert isinstance(error, omniws.ConnectionFailed)
    assert error.status == status
    assert error.recoverable is recoverable
    assert error.retry_after == retry_after
    assert all(name == name.lower() for name in error.headers)
    assert error.headers["x-test-server"] == "py"
    assert error.headers.get("retry-after") == ("7" if status == 503 else None)
    assert isinstance(error.body, bytes)
    assert f"rejected by test server: {status}".encode() in error.body
    assert str(status) in str(error)


async def test_connect_timeout_on_silent_server(raw_server: RawServerFactory) -> None:
    server = await raw_server(RawServer.silent)
    started = time.monotonic()
    with pytest.raises(omniws.WebSocketTimeout) as info:
        await asyncio.wait_for(omniws.connect(f"{server.url}/echo", connect_timeout=0.5), 10)
    elapsed = time.monotonic() - started
    assert info.value.operation == "connect"
    assert f"the WebSocket handshake with {server.url}/echo;" in str(info.value)
    assert "is this a WebSocket endpoint?" in str(info.value)
    assert isinstance(info.value, TimeoutError)
    assert info.value.recoverable is True
    assert 0.4 <= elapsed < 5, f"connect_timeout=0.5 took {elapsed:.2f} s"
    assert server.connections == 1
    assert b"".join(server.requests).startswith(b"GET /echo HTTP/1.1\r\n")


async def test_connection_refused() -> None:
    port = free_port()  # nothing listens there any more
    with pytest.raises(omniws.ConnectionFailed) as info:
        await asyncio.wait_for(omniws.connect(f"ws://127.0.0.1:{port}/", connect_timeout=5), 10)
    assert not isinstance(info.value, omniws.HandshakeRejected)
    assert info.value.recoverable is True


async def test_wss_echo_with_trusted_ca(wss_server: str, client_ssl: ssl.SSLContext) -> None:
    async with omniws.connect(f"{wss_server}/echo", ssl=client_ssl, connect_timeout=5) as ws:
        await ws.send("over tls")
        assert await recv(ws) == "over tls"
        payload = bytes(range(256)) * 1000
        await ws.send(payload)
        assert await recv(ws) == payload
        assert isinstance(await ws.ping(), float)


async def test_wss_headers_and_close(wss_server: str, client_ssl: ssl.SSLContext) -> None:
    async with omniws.connect(
        f"{wss_server}/close?code=4001&reason=tls-bye", ssl=client_ssl, connect_timeout=5
    ) as ws:
        with pytest.raises(omniws.ConnectionClosed) as info:
            await recv(ws)
    assert (info.value.code, info.value.reason) == (4001, "tls-bye")


async def test_wss_untrusted_certificate_fails(wss_server: str) -> None:
    with pytest.raises(omniws.ConnectionFailed) as info:
        await asyncio.wait_for(omniws.connect(f"{wss_server}/echo", connect_timeout=5), 10)
    assert not isinstance(info.value, omniws.HandshakeRejected)
    assert info.value.recoverable is False  # a certificate failure is not retried


async def test_wss_untrusted_with_explicit_default_context(wss_server: str) -> None:
    ctx = ssl.create_default_context()  # the system trust store: our test CA is not in it
    with pytest.raises(omniws.ConnectionFailed) as info:
        await asyncio.wait_for(omniws.connect(f"{wss_server}/echo", ssl=ctx, connect_timeout=5), 10)
    assert info.value.recoverable is False


async def test_ipv6_loopback(py_server_v6: str) -> None:
    assert py_server_v6.startswith("ws://[::1]:")
    async with omniws.connect(f"{py_server_v6}/echo", connect_timeout=5) as ws:
        await ws.send("over ipv6")
        assert await recv(ws) == "over ipv6"
    async with omniws.connect(f"{py_server_v6}/headers", connect_timeout=5) as ws:
        headers = json.loads(await recv(ws))
    assert headers["host"] == urlsplit(py_server_v6).netloc  # "[::1]:PORT"
