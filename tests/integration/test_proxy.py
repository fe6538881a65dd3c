"""Connecting through proxies: HTTP CONNECT (plain and TLS) and SOCKS5, on loopback.

The proxies are in proxy_servers.py; the target is the `websockets` test server (and its
TLS twin). Failures and timeouts are in test_proxy_failures.py.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import subprocess
import sys
from pathlib import Path

import pytest

import omniws
from omniws import ConnectionFailed, WebSocketTimeout

from . import proxy_support as fixtures
from .proxy_servers import HttpConnectProxy, Socks5Proxy
from .proxy_support import SECRET, Start, echo_through
from .support import free_port, recv

clean_proxy_env = fixtures.clean_proxy_env  # autouse
start = fixtures.start
proxy_cert = fixtures.proxy_cert


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
