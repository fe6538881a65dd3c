"""Redirects of the opening handshake: 301, 302, 303, 307 and 308, across ports (origins).

``RedirectServer`` answers the paths it was given with a 3xx and a Location, and any other
path with a correct 101 upgrade; it records every request's headers.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import trustme

import omniws
from omniws import ConnectionFailed, HandshakeRejected, WebSocketTimeout

from .proxy_servers import StreamServer
from .support import accept_key, free_port, read_client_frame, recv

CREDENTIALS = {"Authorization": "Bearer t0ken", "Cookie": "session=abc", "X-Trace": "kept"}


class RedirectServer(StreamServer):
    def __init__(
        self, routes: dict[str, tuple[int, str | None]], ssl_context: ssl.SSLContext | None = None
    ) -> None:
        super().__init__()
        self.routes = routes
        self.ssl_context = ssl_context
        self.requests: list[tuple[str, dict[str, str]]] = []

    @property
    def url(self) -> str:
        return f"{'wss' if self.ssl_context else 'ws'}://127.0.0.1:{self.port}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request_line, *lines = (await reader.readuntil(b"\r\n\r\n")).decode().split("\r\n")
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            if name:
                headers[name.strip().lower()] = value.strip()
        path = request_line.split(" ")[1]
        self.requests.append((path, headers))
        if path in self.routes:
            status, location = self.routes[path]
            extra = f"Location: {location}\r\n" if location is not None else ""
            writer.write(
                f"HTTP/1.1 {status} Moved\r\n{extra}Content-Length: 4\r\n\r\nmove".encode()
            )
            await writer.drain()
            return
        writer.write(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Accept: {accept_key(headers['sec-websocket-key'])}\r\n\r\n".encode()
        )
        await writer.drain()
        for _ in range(100):  # bounded; answer the client's close and hang up
            frame = await read_client_frame(reader)
            if frame.opcode == 0x8:
                writer.write(b"\x88\x02" + frame.payload[:2])
                await writer.drain()
                return


Start = Callable[..., Awaitable[RedirectServer]]


@pytest.fixture
async def start() -> AsyncIterator[Start]:
    started: list[RedirectServer] = []

    async def run(
        routes: dict[str, tuple[int, str | None]], ssl_context: ssl.SSLContext | None = None
    ) -> RedirectServer:
        started.append(await RedirectServer(routes, ssl_context).start())
        return started[-1]

    try:
        yield run
    finally:
        for server in started:
            await server.stop()


@pytest.fixture(autouse=True)
def no_env_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_each_redirect_status_is_followed(start: Start, py_server: str, status: int) -> None:
    server = await start({"/old": (status, f"{py_server}/echo")})
    async with omniws.connect(f"{server.url}/old", connect_timeout=5) as ws:
        await ws.send("after the redirect")
        assert await recv(ws) == "after the redirect"
        assert repr(ws).startswith(f"<omniws.Connection {py_server}/echo")


async def test_relative_location_keeps_credentials_on_the_same_origin(start: Start) -> None:
    server = await start({"/a/old": (307, "../new?x=1"), "/new?x=1": (301, "/final")})
    async with omniws.connect(f"{server.url}/a/old", headers=CREDENTIALS, connect_timeout=5):
        pass
    assert [path for path, _ in server.requests] == ["/a/old", "/new?x=1", "/final"]
    final = server.requests[-1][1]
    assert final["authorization"] == "Bearer t0ken" and final["cookie"] == "session=abc"


async def test_other_origin_gets_no_credentials(start: Start, py_server: str) -> None:
    server = await start({"/login": (302, f"{py_server}/headers")})
    async with omniws.connect(f"{server.url}/login", headers=CREDENTIALS, connect_timeout=5) as ws:
        seen = json.loads(await recv(ws))
    assert "authorization" not in seen and "cookie" not in seen
    assert seen["x-trace"] == "kept"
    assert server.requests[0][1]["authorization"] == "Bearer t0ken"  # the first hop had them


async def test_credentials_stay_dropped_after_returning(start: Start) -> None:
    other = await start({})
    server = await start({})
    other.routes["/bounce"] = (302, f"{server.url}/final")
    server.routes["/start"] = (302, f"{other.url}/bounce")
    async with omniws.connect(f"{server.url}/start", headers=CREDENTIALS, connect_timeout=5):
        pass
    assert "authorization" not in server.requests[-1][1]


async def test_http_scheme_in_location_means_ws(start: Start, py_server: str) -> None:
    http = py_server.replace("ws://", "http://")
    server = await start({"/x": (308, f"{http}/echo")})
    async with omniws.connect(f"{server.url}/x", connect_timeout=5) as ws:
        await ws.send("ok")
        assert await recv(ws) == "ok"


async def test_too_many_redirects(start: Start) -> None:
    routes = {f"/{i}": (302, f"/{i + 1}") for i in range(10)}
    server = await start(routes)
    async with omniws.connect(f"{server.url}/7", max_redirects=3, connect_timeout=5):
        pass  # 7 -> 8 -> 9 -> 10: three redirects are fine
    with pytest.raises(ConnectionFailed, match=r"too many redirects.*max_redirects") as info:
        await omniws.connect(f"{server.url}/0", max_redirects=3, connect_timeout=5)
    assert info.value.recoverable is False
    assert [p for p, _ in server.requests[-4:]] == ["/0", "/1", "/2", "/3"]


async def test_redirect_loop(start: Start) -> None:
    server = await start({"/a": (302, "/b"), "/b": (307, "/a")})
    with pytest.raises(ConnectionFailed, match="redirect loop") as info:
        await omniws.connect(f"{server.url}/a", connect_timeout=5)
    assert info.value.recoverable is False
    assert len(server.requests) == 2


async def test_max_redirects_zero_reports_the_answer(start: Start, py_server: str) -> None:
    server = await start({"/old": (301, f"{py_server}/echo")})
    with pytest.raises(HandshakeRejected) as info:
        await omniws.connect(f"{server.url}/old", max_redirects=0, connect_timeout=5)
    assert info.value.status == 301 and info.value.recoverable is False
    assert info.value.headers["location"] == f"{py_server}/echo"


@pytest.mark.parametrize(
    ("location", "match"),
    [
        (None, "no Location"),
        ("ftp://127.0.0.1/x", "not a WebSocket URL"),
        ("/has space", "spaces or control characters"),
        ("ws://127.0.0.1:99999/", "not a WebSocket URL"),
    ],
)
async def test_unusable_location(start: Start, location: str | None, match: str) -> None:
    server = await start({"/x": (302, location)})
    with pytest.raises(ConnectionFailed, match=match) as info:
        await omniws.connect(f"{server.url}/x", connect_timeout=5)
    assert info.value.recoverable is False


async def test_wss_to_ws_downgrade_is_refused(
    start: Start, tls_ca: trustme.CA, client_ssl: ssl.SSLContext
) -> None:
    target = await start({})
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls_ca.issue_cert("127.0.0.1").configure_cert(ctx)
    server = await start({"/x": (301, f"{target.url}/plain")}, ctx)
    with pytest.raises(ConnectionFailed, match="refusing to downgrade wss:// to") as info:
        await omniws.connect(f"{server.url}/x", ssl=client_ssl, connect_timeout=5)
    assert info.value.recoverable is False
    assert target.requests == []  # never contacted
    # wss -> wss on another port is fine, with the same TLS settings
    secure = await start({}, ctx)
    server.routes["/y"] = (308, f"{secure.url}/final")
    async with omniws.connect(f"{server.url}/y", ssl=client_ssl, connect_timeout=5):
        pass
    assert secure.requests[0][0] == "/final"


async def test_ws_to_wss_upgrade_is_followed_and_verified(start: Start, wss_server: str) -> None:
    server = await start({"/x": (301, f"{wss_server}/echo")})
    with pytest.raises(ConnectionFailed, match="certificate") as info:
        await omniws.connect(f"{server.url}/x", connect_timeout=5)  # test CA not trusted
    assert info.value.recoverable is False


async def test_connect_timeout_covers_every_hop(start: Start) -> None:
    silent = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    try:
        port = silent.sockets[0].getsockname()[1]
        server = await start({"/1": (302, "/2"), "/2": (302, f"ws://127.0.0.1:{port}/")})
        began = time.monotonic()
        with pytest.raises(WebSocketTimeout, match=f"127.0.0.1:{port}"):
            await omniws.connect(f"{server.url}/1", connect_timeout=0.5)
        assert time.monotonic() - began < 3
    finally:
        silent.close()


async def test_redirect_to_a_closed_port(start: Start) -> None:
    server = await start({"/x": (302, f"ws://127.0.0.1:{free_port()}/")})
    with pytest.raises(ConnectionFailed, match="cannot connect") as info:
        await omniws.connect(f"{server.url}/x", connect_timeout=5)
    assert info.value.recoverable is True
