"""Proxies that fail: down, hanging up, stalling at each stage, or speaking the other
protocol; and the proxy taken from the environment.

A stalled opening must raise WebSocketTimeout naming the stage that stalled (TCP to the
proxy, its answer, TLS to the proxy or the server, the WebSocket handshake) and the proxy,
never its password; a proxy of the wrong kind must be named as such.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Iterator

import pytest

import omniws
from omniws import ConfigError, ConnectionFailed, WebSocketTimeout

from . import proxy_support as fixtures
from .conftest import RawServerFactory
from .proxy_servers import HttpConnectProxy, Socks5Proxy, _ProxyBase
from .proxy_support import SECRET, Start, echo_through
from .support import RawServer, free_port

clean_proxy_env = fixtures.clean_proxy_env  # autouse
start = fixtures.start
proxy_cert = fixtures.proxy_cert
TIMEOUT = 0.5


@pytest.fixture
def full_backlog() -> Iterator[int]:
    """The port of a listener whose accept queue is full: a TCP connect to it stalls."""
    listener = socket.socket()
    fillers: list[socket.socket] = []
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port: int = listener.getsockname()[1]
        for _ in range(3):
            filler = socket.socket()
            filler.setblocking(False)
            fillers.append(filler)
            filler.connect_ex(("127.0.0.1", port))  # in progress, or queued
        yield port
    finally:
        for sock in [*fillers, listener]:
            sock.close()


async def stalled(url: str, **options: object) -> str:
    """The message of the WebSocketTimeout that connecting to ``url`` must raise."""
    with pytest.raises(WebSocketTimeout) as info:
        await omniws.connect(url, connect_timeout=TIMEOUT, close_timeout=1, **options)
    assert info.value.operation == "connect" and info.value.timeout == TIMEOUT
    message = str(info.value)
    assert SECRET not in message
    return message


# ---------------------------------------------------------------- failures, timeouts


async def test_proxy_down_names_the_proxy(py_server: str) -> None:
    port = free_port()
    with pytest.raises(ConnectionFailed, match=f"cannot connect to proxy .*:{port}") as info:
        await echo_through(f"{py_server}/echo", proxy=f"http://u:{SECRET}@127.0.0.1:{port}")
    assert info.value.recoverable is True and SECRET not in str(info.value)


async def test_proxy_that_hangs_up_mid_handshake(
    raw_server: RawServerFactory, py_server: str
) -> None:
    async def hang_up(_s: RawServer, reader: asyncio.StreamReader, _w: object) -> None:
        await reader.read(100)

    server = await raw_server(hang_up)
    for scheme, kind in (("http", "an HTTP"), ("socks5", "a SOCKS5")):
        with pytest.raises(ConnectionFailed, match="closed the connection") as info:
            await echo_through(f"{py_server}/echo", proxy=f"{scheme}://127.0.0.1:{server.port}")
        assert f"proxy {scheme}://127.0.0.1:{server.port}" in str(info.value)
        assert f"is it {kind} proxy?" in str(info.value)  # the likely mix-up, named


# ---------------------------------------------------------------- stalls: each stage named


@pytest.mark.parametrize("scheme", ["http", "socks5"])
async def test_tcp_to_the_proxy_stalls(full_backlog: int, py_server: str, scheme: str) -> None:
    proxy = f"{scheme}://u:{SECRET}@127.0.0.1:{full_backlog}"
    message = await stalled(f"{py_server}/echo", proxy=proxy)
    assert f"the TCP connection to proxy {scheme}://u@127.0.0.1:{full_backlog}" in message
    assert "is the proxy up and reachable" in message
    assert "WebSocket endpoint" not in message


async def test_tcp_to_the_server_stalls(full_backlog: int) -> None:
    message = await stalled(f"ws://127.0.0.1:{full_backlog}/")
    assert f"the TCP connection to 127.0.0.1:{full_backlog}" in message
    assert "WebSocket endpoint" not in message


async def test_silent_http_proxy_is_blamed_not_the_server(
    raw_server: RawServerFactory, py_server: str
) -> None:
    silent = await raw_server(RawServer.silent)
    port = py_server.rsplit(":", 1)[1]
    message = await stalled(f"{py_server}/echo", proxy=f"http://u:{SECRET}@127.0.0.1:{silent.port}")
    assert f"the answer of proxy http://u@127.0.0.1:{silent.port} to CONNECT 127.0.0.1:{port}" in (
        message
    )
    assert f"A SOCKS5 proxy needs a URL like socks5://u@127.0.0.1:{silent.port}" in message
    assert "WebSocket endpoint" not in message and "WebSocket handshake" not in message
    assert b"".join(silent.requests).startswith(f"CONNECT 127.0.0.1:{port} HTTP/1.1".encode())


async def test_silent_socks5_proxy_is_blamed_not_the_server(
    raw_server: RawServerFactory, py_server: str
) -> None:
    silent = await raw_server(RawServer.silent)
    message = await stalled(f"{py_server}/echo", proxy=f"socks5h://127.0.0.1:{silent.port}")
    assert f"the answer of proxy socks5h://127.0.0.1:{silent.port} to the SOCKS5 greeting" in (
        message
    )
    assert f"An HTTP proxy needs a URL like http://127.0.0.1:{silent.port}" in message
    assert "WebSocket endpoint" not in message


async def test_tls_to_the_proxy_stalls(raw_server: RawServerFactory, py_server: str) -> None:
    silent = await raw_server(RawServer.silent)
    message = await stalled(
        f"{py_server}/echo", proxy=f"https://u:{SECRET}@127.0.0.1:{silent.port}"
    )
    assert f"the TLS handshake with proxy https://u@127.0.0.1:{silent.port}" in message
    assert "is it an https:// proxy?" in message


async def test_tls_to_the_server_through_a_proxy_stalls(
    start: Start[HttpConnectProxy], raw_server: RawServerFactory
) -> None:
    proxy = await start(HttpConnectProxy())
    silent = await raw_server(RawServer.silent)
    message = await stalled(f"wss://127.0.0.1:{silent.port}/", proxy=proxy.url("http"))
    assert (
        f"the TLS handshake with 127.0.0.1:{silent.port} through proxy http://127.0.0.1:"
        f"{proxy.port}" in message
    )
    assert "does it speak TLS on this port" in message
    assert proxy.requests[0]["target"] == f"127.0.0.1:{silent.port}"  # the tunnel was open


@pytest.mark.parametrize("kind", [HttpConnectProxy, Socks5Proxy])
async def test_websocket_handshake_through_a_proxy_stalls(
    start: Start[_ProxyBase], raw_server: RawServerFactory, kind: type[_ProxyBase]
) -> None:
    proxy = await start(kind(auth=("u", SECRET)))
    scheme = "http" if kind is HttpConnectProxy else "socks5"
    silent = await raw_server(RawServer.silent)
    url = f"ws://127.0.0.1:{silent.port}/feed"
    message = await stalled(url, proxy=proxy.url(scheme, "u", SECRET))
    assert f"the WebSocket handshake with {url} through proxy {scheme}://u@" in message
    assert "is this a WebSocket endpoint?" in message
    assert b"".join(silent.requests).startswith(b"GET /feed HTTP/1.1\r\n")


async def test_websocket_client_reports_the_stalled_stage(raw_server: RawServerFactory) -> None:
    silent = await raw_server(RawServer.silent)
    errors: list[omniws.WebSocketError] = []
    client = omniws.WebSocketClient(
        omniws.WebSocketConfig(
            "ws://127.0.0.1:9/",
            proxy=f"http://u:{SECRET}@127.0.0.1:{silent.port}",
            connect_timeout=TIMEOUT,
            reconnect=None,
        )
    )
    client.on_error(errors.append)
    with pytest.raises(WebSocketTimeout):
        async with client:
            pass
    assert errors and all(SECRET not in str(e) for e in errors)
    assert f"the answer of proxy http://u@127.0.0.1:{silent.port} to CONNECT" in str(errors[0])


# ---------------------------------------------------------------- the wrong kind of proxy


async def test_socks5_url_pointed_at_an_http_proxy(
    start: Start[HttpConnectProxy], py_server: str
) -> None:
    proxy = await start(HttpConnectProxy())  # waits for a full HTTP head: never answers
    message = await stalled(f"{py_server}/echo", proxy=proxy.url("socks5"))
    assert "SOCKS5 greeting" in message and "is it a SOCKS5 proxy?" in message
    assert f"http://127.0.0.1:{proxy.port}" in message


async def test_socks5_url_pointed_at_a_proxy_that_answers_in_http(
    raw_server: RawServerFactory, py_server: str
) -> None:
    async def http_only(_s: RawServer, reader: asyncio.StreamReader, writer: object) -> None:
        await reader.read(100)
        assert isinstance(writer, asyncio.StreamWriter)
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()

    server = await raw_server(http_only)
    with pytest.raises(
        ConnectionFailed, match="does not speak SOCKS5: it answered in HTTP"
    ) as info:
        await echo_through(
            f"{py_server}/echo", proxy=f"socks5://u:{SECRET}@127.0.0.1:{server.port}"
        )
    assert f"needs a URL like http://u@127.0.0.1:{server.port}" in str(info.value)
    assert info.value.recoverable is False and SECRET not in str(info.value)


async def test_http_url_pointed_at_a_socks5_proxy(
    start: Start[Socks5Proxy], py_server: str
) -> None:
    proxy = await start(Socks5Proxy())
    with pytest.raises(ConnectionFailed, match="did not answer CONNECT in HTTP") as info:
        await echo_through(f"{py_server}/echo", proxy=proxy.url("http"))
    assert f"needs a URL like socks5://127.0.0.1:{proxy.port}" in str(info.value)
    assert info.value.recoverable is False


# ---------------------------------------------------------------- environment


async def test_environment_selects_the_proxy(
    start: Start[HttpConnectProxy], py_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = await start(HttpConnectProxy())
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:1")  # wss only: must not be used
    await echo_through(f"{py_server}/echo")
    assert proxy.connections == 0
    monkeypatch.setenv("http_proxy", proxy.url("http"))
    await echo_through(f"{py_server}/echo")
    assert proxy.connections == 1
    await echo_through(f"{py_server}/echo", proxy_from_env=False)
    assert proxy.connections == 1
    monkeypatch.setenv("NO_PROXY", "example.org, 127.0.0.1")
    await echo_through(f"{py_server}/echo")
    assert proxy.connections == 1
    await echo_through(f"{py_server}/echo", proxy=proxy.url("http"))  # explicit beats NO_PROXY
    assert proxy.connections == 2


async def test_all_proxy_fallback_and_https_proxy_for_wss(
    start: Start[_ProxyBase],
    py_server: str,
    wss_server: str,
    client_ssl: ssl.SSLContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    socks = await start(Socks5Proxy())
    http = await start(HttpConnectProxy())
    monkeypatch.setenv("ALL_PROXY", socks.url("socks5h"))
    await echo_through(f"{py_server}/echo")
    assert socks.connections == 1
    monkeypatch.setenv("HTTPS_PROXY", http.url("http"))
    await echo_through(f"{wss_server}/echo", ssl=client_ssl)
    assert (socks.connections, http.connections) == (1, 1)


async def test_bad_proxy_values_are_config_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    for value, hint in [
        ("ftp://h:1", "socks5h://"),
        ("http://:8080", "no host"),
        ("a b", "spaces"),
    ]:
        with pytest.raises(ConfigError, match=hint) as info:
            omniws.WebSocketConfig("ws://127.0.0.1/", proxy=value)
        assert info.value.field == "proxy"
    monkeypatch.setenv("HTTP_PROXY", "gopher://127.0.0.1:70")
    with pytest.raises(ConfigError, match="HTTP_PROXY") as config_info:
        await echo_through("ws://127.0.0.1:9/")
    assert config_info.value.recoverable is False
