"""Proxies under trio: HTTP CONNECT (plain and TLS to the proxy, with Basic credentials),
SOCKS5 (local and remote name resolution, credentials), the environment and NO_PROXY, and
errors and stages that read as on asyncio. The proxies are the integration tests' own,
on an asyncio loop in a thread."""

from __future__ import annotations

import socket
import ssl

import pytest
import trio
from conftest import LoopThread, open_ws
from integration.proxy_servers import HttpConnectProxy, Socks5Proxy, _ProxyBase

from omniws import ConnectionFailed, WebSocketTimeout

SECRET = "s3cret-pw"


def started(loop_thread: LoopThread, proxy: _ProxyBase) -> _ProxyBase:
    return loop_thread.run(proxy.start())


def echo_through(url: str, **options: object) -> None:
    async def main() -> None:
        async with await open_ws(url, **options) as ws:
            await ws.send("hello through the proxy")
            assert await ws.recv() == "hello through the proxy"

    trio.run(main)


def failure(url: str, **options: object) -> BaseException:
    async def main() -> BaseException:
        with pytest.raises((ConnectionFailed, WebSocketTimeout)) as info:
            await open_ws(url, **options)
        return info.value

    return trio.run(main)


def test_http_connect_with_and_without_credentials(loop_thread: LoopThread, py_server: str) -> None:
    plain = started(loop_thread, HttpConnectProxy())
    echo_through(f"{py_server}/echo", proxy=plain.url("http"))
    port = py_server.rsplit(":", 1)[1]
    assert plain.requests[0]["target"] == f"127.0.0.1:{port}"
    locked = started(loop_thread, HttpConnectProxy(auth=("alice", SECRET)))
    echo_through(f"{py_server}/echo", proxy=locked.url("http", "alice", SECRET))
    error = failure(f"{py_server}/echo", proxy=locked.url("http"))
    assert "407" in str(error) and "needs credentials" in str(error)
    assert not error.recoverable and SECRET not in str(error)
    refusing = started(loop_thread, HttpConnectProxy(refuse=503))
    error = failure(f"{py_server}/echo", proxy=refusing.url("http"))
    assert "refused CONNECT" in str(error) and error.recoverable


def test_https_proxy_then_tls_to_the_target(
    loop_thread: LoopThread,
    py_server: str,
    wss_server: str,
    client_ssl: ssl.SSLContext,
    proxy_cert: ssl.SSLContext,
) -> None:
    proxy = started(loop_thread, HttpConnectProxy(auth=("bob", SECRET), ssl_context=proxy_cert))
    url = proxy.url("https", "bob", SECRET)
    echo_through(f"{py_server}/echo", proxy=url, proxy_ssl=client_ssl)
    echo_through(f"{wss_server}/echo", proxy=url, proxy_ssl=client_ssl, ssl=client_ssl)
    assert len(proxy.requests) == 2
    error = failure(f"{py_server}/echo", proxy=url)  # the proxy's CA is not trusted
    assert "proxy_ssl=" in str(error) and not error.recoverable


def test_socks5_resolves_locally_socks5h_remotely(loop_thread: LoopThread, py_server: str) -> None:
    name = "ws-target.invalid"  # only the proxy knows this name
    proxy = started(loop_thread, Socks5Proxy(names={name: "127.0.0.1"}))
    port = int(py_server.rsplit(":", 1)[1])
    echo_through(f"ws://localhost:{port}/echo", proxy=proxy.url("socks5"))
    assert proxy.requests[0]["address_type"] in (1, 4)  # an IP, resolved here
    echo_through(f"ws://{name}:{port}/echo", proxy=proxy.url("socks5h"))
    assert proxy.requests[1]["host"] == name and proxy.requests[1]["address_type"] == 3
    locked = started(loop_thread, Socks5Proxy(auth=("carol", SECRET)))
    echo_through(f"{py_server}/echo", proxy=locked.url("socks5", "carol", SECRET))
    error = failure(f"{py_server}/echo", proxy=locked.url("socks5", "carol", "wrong"))
    assert "refused the SOCKS5 user name and password" in str(error)
    refusing = started(loop_thread, Socks5Proxy(refuse=5))
    error = failure(f"{py_server}/echo", proxy=refusing.url("socks5"))
    assert "SOCKS5 reply 5 (connection refused by the target)" in str(error)


def test_proxy_from_the_environment_and_no_proxy(
    loop_thread: LoopThread, py_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = started(loop_thread, HttpConnectProxy())
    monkeypatch.setenv("HTTP_PROXY", proxy.url("http"))
    echo_through(f"{py_server}/echo")
    assert len(proxy.requests) == 1
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.0/8")
    echo_through(f"{py_server}/echo")
    echo_through(f"{py_server}/echo", proxy_from_env=False)
    assert len(proxy.requests) == 1  # NO_PROXY matched: straight to the server
    monkeypatch.delenv("NO_PROXY")
    echo_through(f"{py_server}/echo", proxy_from_env=False)
    assert len(proxy.requests) == 1


def test_a_silent_proxy_names_the_stage(loop_thread: LoopThread, py_server: str) -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        error = failure(
            f"{py_server}/echo", proxy=f"http://u:{SECRET}@127.0.0.1:{port}", connect_timeout=0.3
        )
        assert isinstance(error, WebSocketTimeout)
        assert f"the answer of proxy http://u@127.0.0.1:{port} to CONNECT" in str(error)
        assert SECRET not in str(error)
        error = failure(
            f"{py_server}/echo", proxy=f"socks5://127.0.0.1:{port}", connect_timeout=0.3
        )
        assert "to the SOCKS5 greeting" in str(error)
    error = failure(f"{py_server}/echo", proxy=f"http://127.0.0.1:{port}")  # nothing listens
    assert f"cannot connect to proxy http://127.0.0.1:{port}" in str(error)
