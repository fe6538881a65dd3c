"""Fixtures and helpers shared by the proxy tests (test_proxy.py, test_proxy_failures.py).

Import the fixtures by name into a test module to use them there.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import pytest
import trustme

import omniws

from .proxy_servers import _ProxyBase
from .support import recv

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
