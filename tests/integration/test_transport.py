"""The fast transport (aiofastnet, ``omniws[fast]``) against real servers, beside asyncio's
and "auto" (aiofastnet for TLS only): plain TCP, TLS, and TLS started after a proxy's
CONNECT (and inside an https:// proxy's TLS; under "auto" over asyncio's TCP transport).

CI runs the whole integration suite once more with ``OMNIWS_TRANSPORT=fast``; the last test
here checks that such a run really uses it.
"""

from __future__ import annotations

import os
import ssl
from typing import Any

import aiofastnet
import pytest

import omniws
from omniws import _platform

from . import proxy_support as fixtures
from .proxy_servers import HttpConnectProxy
from .proxy_support import SECRET, Start
from .support import recv

clean_proxy_env = fixtures.clean_proxy_env  # autouse
start = fixtures.start
proxy_cert = fixtures.proxy_cert

TRANSPORTS = pytest.mark.parametrize("transport", ["asyncio", "fast", "auto"])


def _expect_fast(setting: str, tls: bool) -> bool:
    """The rule, written out independently: the setting, else OMNIWS_TRANSPORT, else auto,
    which takes aiofastnet (installed here) for TLS only."""
    if setting == "auto":
        setting = os.environ.get("OMNIWS_TRANSPORT", "").strip().lower() or "auto"
    return setting == "fast" or (setting == "auto" and tls)


async def _echo(url: str, transport: str, **options: Any) -> None:
    async with omniws.connect(
        url, connect_timeout=5, close_timeout=2, transport=transport, **options
    ) as ws:
        underlying = ws._transport
        fast = _expect_fast(transport, url.startswith("wss:"))
        assert isinstance(underlying, aiofastnet.Transport) == fast, underlying
        await ws.send("x" * 70_000)  # more than one read and one TLS record
        assert await recv(ws) == "x" * 70_000
        await ws.send(b"\x00\x01")
        assert await recv(ws) == b"\x00\x01"


@TRANSPORTS
async def test_plain_tcp(transport: str, py_server: str) -> None:
    await _echo(f"{py_server}/echo", transport)


@TRANSPORTS
async def test_tls_verifies_and_echoes(
    transport: str, wss_server: str, client_ssl: ssl.SSLContext
) -> None:
    await _echo(f"{wss_server}/echo", transport, ssl=client_ssl)
    with pytest.raises(omniws.ConnectionFailed, match="certificate") as info:
        await _echo(f"{wss_server}/echo", transport)  # system trust only
    assert info.value.recoverable is False


@TRANSPORTS
async def test_tls_after_a_proxy_connect(
    transport: str,
    start: Start[HttpConnectProxy],
    wss_server: str,
    client_ssl: ssl.SSLContext,
    proxy_cert: ssl.SSLContext,
) -> None:
    plain = await start(HttpConnectProxy())
    await _echo(f"{wss_server}/echo", transport, proxy=plain.url("http"), ssl=client_ssl)
    secure = await start(HttpConnectProxy(auth=("bob", SECRET), ssl_context=proxy_cert))
    url = secure.url("https", "bob", SECRET)
    await _echo(f"{wss_server}/echo", transport, proxy=url, proxy_ssl=client_ssl, ssl=client_ssl)
    assert len(plain.requests) == 1 and len(secure.requests) == 1


async def test_default_connections_follow_the_environment(
    py_server: str, wss_server: str, client_ssl: ssl.SSLContext
) -> None:
    for url, tls in ((py_server, False), (wss_server, True)):
        fast = _expect_fast("auto", tls)
        assert _platform.transport(tls=tls) == ("fast" if fast else "asyncio")
        ssl_option = client_ssl if tls else None
        async with omniws.connect(f"{url}/echo", connect_timeout=5, ssl=ssl_option) as ws:
            assert isinstance(ws._transport, aiofastnet.Transport) == fast, ws._transport


@TRANSPORTS
async def test_a_host_name_idna_cannot_encode_is_a_clear_error(transport: str) -> None:
    # refused with the config, before any I/O (the transport would fail on it too)
    with pytest.raises(omniws.ConfigError, match=r"proxy: host '\\x80' is not a valid host"):
        omniws.connect(
            "ws://127.0.0.1:9/", proxy="http://\x80:3128", connect_timeout=5, transport=transport
        )
