"""Connecting through proxies: HTTP CONNECT (plain and TLS) and SOCKS5, on loopback.

The proxies are in proxy_servers.py; the target is the `websockets` test server (and its
TLS twin). Failures must name the proxy (never its password) and what it answered.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
import trustme

import omniws
from omniws import ConfigError, ConnectionFailed, WebSocketTimeout

from .conftest import RawServerFactory
from .proxy_servers import HttpConnectProxy, Socks5Proxy, _ProxyBase
from .support import RawServer, free_port, recv

P = TypeVar("P", bound=_ProxyBase)
Start = Callable[[P], Awaitable[P]]
SECRET = "s3cret-pw"
PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.fixture(autouse=True)
def clean_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy from the machine's environment leaks into these tests."""
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture
async def start() -> AsyncIterator[Callable[[_ProxyBase], Awaitable[_ProxyBase]]]:
    started: list[_ProxyBase] = []

    async def run(proxy: _ProxyBase) -> _ProxyBase:
        started.append(await proxy.start())
        return proxy

    try:
        yield run
    finally:
        for proxy in started:
            await proxy.stop()


@pytest.fixture(scope="module")
def proxy_cert(tmp_path_factory: pytest.TempPathFactory, tls_ca: trustme.CA) -> ssl.SSLContext:
    """Server context of a TLS proxy on 127.0.0.1 (certificate from the test CA)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls_ca.issue_cert("127.0.0.1").configure_cert(ctx)
    return ctx


async def echo_through(url: str, **options: Any) -> None:
    async with omniws.connect(url, connect_timeout=5, close_timeout=2, **options) as ws:
        await ws.send("hello through the proxy")
        assert await recv(ws) == "hello through the proxy"


# ---------------------------------------------------------------- HTTP CONNECT


async def test_http_connect_without_auth(start: Start[HttpConnectProxy], py_server: str) -> None:
    proxy = await start(HttpConnectProxy())
    await echo_through(f"{py_server}/echo", proxy=proxy.url("http"))
    port = py_server.rsplit(":", 1)[1]
    assert proxy.requests[0]["method"] == "CONNECT"
    assert proxy.requests[0]["target"] == f"127.0.0.1:{port}"


async def test_http_connect_with_basic_auth(start: Start[HttpConnectProxy], py_server: str) -> None:
    proxy = await start(HttpConnectProxy(auth=("alice", SECRET)))
    url = proxy.url("http", "alice", SECRET)
    async with omniws.connect(f"{py_server}/headers", proxy=url, connect_timeout=5) as ws:
        headers = json.loads(await recv(ws))  # what the target server received
    assert "proxy-authorization" not in headers  # credentials go to the proxy only
    sent = proxy.requests[0]["headers"]
    assert isinstance(sent, dict) and sent["proxy-authorization"].startswith("Basic ")


async def test_percent_encoded_credentials(start: Start[HttpConnectProxy], py_server: str) -> None:
    proxy = await start(HttpConnectProxy(auth=("al ice", "p@ss:w/rd")))
    url = f"http://al%20ice:p%40ss%3Aw%2Frd@127.0.0.1:{proxy.port}"
    await echo_through(f"{py_server}/echo", proxy=url)


@pytest.mark.parametrize("user", [None, "alice"], ids=["no-credentials", "wrong-password"])
async def test_http_407_is_not_recoverable(
    start: Start[HttpConnectProxy], py_server: str, user: str | None
) -> None:
    proxy = await start(HttpConnectProxy(auth=("alice", "right")))
    url = proxy.url("http", user, SECRET if user else None)
    with pytest.raises(ConnectionFailed) as info:
        await echo_through(f"{py_server}/echo", proxy=url)
    message = str(info.value)
    assert "407" in message and f"127.0.0.1:{proxy.port}" in message
    assert SECRET not in message
    assert ("credentials" in message) and info.value.recoverable is False


@pytest.mark.parametrize(("status", "recoverable"), [(403, False), (502, True), (503, True)])
async def test_http_proxy_refusal(
    start: Start[HttpConnectProxy], py_server: str, status: int, recoverable: bool
) -> None:
    proxy = await start(HttpConnectProxy(refuse=status))
    with pytest.raises(ConnectionFailed, match=f"refused CONNECT .* HTTP {status}") as info:
        await echo_through(f"{py_server}/echo", proxy=proxy.url("http"))
    assert f"http://127.0.0.1:{proxy.port}" in str(info.value)
    assert info.value.recoverable is recoverable


async def test_wss_through_http_proxy_verifies_the_target(
    start: Start[HttpConnectProxy], wss_server: str, client_ssl: ssl.SSLContext
) -> None:
    proxy = await start(HttpConnectProxy())
    port = wss_server.rsplit(":", 1)[1]
    # the name is resolved by the proxy; TLS (SNI and hostname check) runs end to end
    await echo_through(f"wss://localhost:{port}/echo", proxy=proxy.url("http"), ssl=client_ssl)
    assert proxy.requests[0]["target"] == f"localhost:{port}"
    with pytest.raises(ConnectionFailed, match="certificate") as info:
        await echo_through(f"{wss_server}/echo", proxy=proxy.url("http"))  # system trust only
    assert info.value.recoverable is False


async def test_https_proxy_tls_to_proxy_then_tls_to_target(
    start: Start[HttpConnectProxy],
    py_server: str,
    wss_server: str,
    client_ssl: ssl.SSLContext,
    proxy_cert: ssl.SSLContext,
) -> None:
    proxy = await start(HttpConnectProxy(auth=("bob", SECRET), ssl_context=proxy_cert))
    url = proxy.url("https", "bob", SECRET)
    await echo_through(f"{py_server}/echo", proxy=url, proxy_ssl=client_ssl)
    await echo_through(f"{wss_server}/echo", proxy=url, proxy_ssl=client_ssl, ssl=client_ssl)
    assert len(proxy.requests) == 2


async def test_https_proxy_with_untrusted_certificate(
    start: Start[HttpConnectProxy], py_server: str, proxy_cert: ssl.SSLContext
) -> None:
    proxy = await start(HttpConnectProxy(ssl_context=proxy_cert))
    with pytest.raises(ConnectionFailed, match="proxy_ssl=") as info:
        await echo_through(f"{py_server}/echo", proxy=proxy.url("https"))
    assert info.value.recoverable is False


# ---------------------------------------------------------------- SOCKS5


async def test_socks5_without_auth_resolves_locally(
    start: Start[Socks5Proxy], py_server: str
) -> None:
    proxy = await start(Socks5Proxy())
    port = int(py_server.rsplit(":", 1)[1])
    await echo_through(f"ws://localhost:{port}/echo", proxy=proxy.url("socks5"))
    record = proxy.requests[0]
    assert record["methods"] == [0] and record["command"] == 1
    assert record["address_type"] in (1, 4) and record["port"] == port  # an IP, not the name


async def test_socks5h_lets_the_proxy_resolve(start: Start[Socks5Proxy], py_server: str) -> None:
    name = "ws-target.invalid"  # only the proxy knows this name
    proxy = await start(Socks5Proxy(names={name: "127.0.0.1"}))
    port = int(py_server.rsplit(":", 1)[1])
    await echo_through(f"ws://{name}:{port}/echo", proxy=proxy.url("socks5h"))
    assert proxy.requests[0]["address_type"] == 3 and proxy.requests[0]["host"] == name
    with pytest.raises((ConnectionFailed, WebSocketTimeout)) as info:  # socks5://: local DNS
        await echo_through(f"ws://{name}:{port}/echo", proxy=proxy.url("socks5"))
    if isinstance(info.value, ConnectionFailed):
        assert "socks5h://" in str(info.value)


async def test_socks5_with_auth(start: Start[Socks5Proxy], py_server: str) -> None:
    proxy = await start(Socks5Proxy(auth=("carol", SECRET)))
    await echo_through(f"{py_server}/echo", proxy=proxy.url("socks5h", "carol", SECRET))
    assert proxy.requests[0]["user"] == "carol"
    assert proxy.requests[0]["methods"] == [0, 2]


async def test_socks5_bad_credentials(start: Start[Socks5Proxy], py_server: str) -> None:
    proxy = await start(Socks5Proxy(auth=("carol", "right")))
    with pytest.raises(ConnectionFailed, match="refused the SOCKS5 user name") as info:
        await echo_through(f"{py_server}/echo", proxy=proxy.url("socks5", "carol", SECRET))
    assert info.value.recoverable is False and SECRET not in str(info.value)
    with pytest.raises(ConnectionFailed, match="none of our SOCKS5 authentication") as info:
        await echo_through(f"{py_server}/echo", proxy=proxy.url("socks5"))
    assert info.value.recoverable is False
    assert f"socks5://127.0.0.1:{proxy.port}" in str(info.value)


@pytest.mark.parametrize(
    ("reply", "meaning", "recoverable"),
    [(2, "connection not allowed by ruleset", False), (1, "general SOCKS server failure", True)],
)
async def test_socks5_refusal_names_the_reply(
    start: Start[Socks5Proxy], py_server: str, reply: int, meaning: str, recoverable: bool
) -> None:
    proxy = await start(Socks5Proxy(refuse=reply))
    with pytest.raises(ConnectionFailed, match=f"SOCKS5 reply {reply} \\({meaning}\\)") as info:
        await echo_through(f"{py_server}/echo", proxy=proxy.url("socks5"))
    assert info.value.recoverable is recoverable


async def test_socks5_target_refused(start: Start[Socks5Proxy]) -> None:
    proxy = await start(Socks5Proxy())
    closed = free_port()
    with pytest.raises(ConnectionFailed, match="reply 5 \\(connection refused") as info:
        await echo_through(f"ws://127.0.0.1:{closed}/", proxy=proxy.url("socks5"))
    assert info.value.recoverable is True


async def test_wss_through_socks5h(
    start: Start[Socks5Proxy], wss_server: str, client_ssl: ssl.SSLContext
) -> None:
    proxy = await start(Socks5Proxy())
    port = wss_server.rsplit(":", 1)[1]
    await echo_through(f"wss://localhost:{port}/echo", proxy=proxy.url("socks5h"), ssl=client_ssl)
    assert proxy.requests[0]["host"] == "localhost"


async def test_socks5_proxy_in_its_own_process(py_server: str, tmp_path: Path) -> None:
    script = Path(__file__).with_name("proxy_servers.py")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(script), "socks5", "--port", str(port), "--auth", f"dave:{SECRET}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 10)
        assert line.decode().startswith("READY"), line
        proxy = f"socks5://dave:{SECRET}@127.0.0.1:{port}"
        await echo_through(f"{py_server}/echo", proxy=proxy)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


# ---------------------------------------------------------------- failures, timeouts


async def test_proxy_down_names_the_proxy(py_server: str) -> None:
    port = free_port()
    with pytest.raises(ConnectionFailed, match=f"cannot connect to proxy .*:{port}") as info:
        await echo_through(f"{py_server}/echo", proxy=f"http://u:{SECRET}@127.0.0.1:{port}")
    assert info.value.recoverable is True and SECRET not in str(info.value)


@pytest.mark.parametrize("scheme", ["http", "socks5"])
async def test_connect_timeout_covers_a_silent_proxy(
    raw_server: RawServerFactory, py_server: str, scheme: str
) -> None:
    silent = await raw_server(RawServer.silent)
    began = time.monotonic()
    with pytest.raises(WebSocketTimeout):
        async with omniws.connect(
            f"{py_server}/echo", proxy=f"{scheme}://127.0.0.1:{silent.port}", connect_timeout=0.5
        ):
            pass
    assert time.monotonic() - began < 3


async def test_proxy_that_hangs_up_mid_handshake(
    raw_server: RawServerFactory, py_server: str
) -> None:
    async def hang_up(_s: RawServer, reader: asyncio.StreamReader, _w: object) -> None:
        await reader.read(100)

    server = await raw_server(hang_up)
    for scheme in ("http", "socks5"):
        with pytest.raises(ConnectionFailed, match="proxy closed the connection"):
            await echo_through(f"{py_server}/echo", proxy=f"{scheme}://127.0.0.1:{server.port}")


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
