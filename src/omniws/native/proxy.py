"""Tunnels through proxies on CPython: HTTP CONNECT (``http://``, ``https://``) and SOCKS5,
asked for by the sans-I/O steps of :mod:`omniws._tunnel_steps`; the choice of proxy
(environment, NO_PROXY) is in :mod:`omniws._proxy_env`.

:func:`open_tunnel` connects to the proxy and asks it for a TCP tunnel to the target. The
caller then runs TLS (for ``wss://``) and the upgrade through the tunnel. Everything here
runs inside the caller's connect timeout, and reports its stage to a :class:`Progress`.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from typing import Any

from .._opening import Peer, Progress
from .._tunnel_steps import drive, http_connect, socks5_connect
from .._urls import Endpoint, ProxyURL
from ..config import WebSocketConfig
from .tcp import open_tcp
from .tunnel import TunnelProtocol

__all__ = ["open_tunnel"]


async def open_tunnel(
    config: WebSocketConfig, proxy: ProxyURL, endpoint: Endpoint, progress: Progress
) -> tuple[asyncio.Transport, bytes]:
    """Connect to ``proxy`` and open a tunnel to ``endpoint``; return the transport
    (reading paused) and any bytes that arrived after the proxy's answer."""
    tunnel = TunnelProtocol(proxy)
    context: ssl.SSLContext | None = None
    if proxy.scheme == "https":
        context = config.proxy_ssl or ssl.create_default_context()
    peer = Peer(proxy.host, proxy.port, f"proxy {proxy}", "proxy_ssl", is_proxy=True)
    transport = await open_tcp(tunnel, peer, context, progress)
    if proxy.scheme in ("http", "https"):
        steps = http_connect(proxy, endpoint, config.user_agent, progress)
    else:
        steps = socks5_connect(proxy, endpoint, progress)
    try:
        rest = await drive(steps, tunnel.write, tunnel.read, _resolve)
    except BaseException:
        transport.abort()
        raise
    transport.pause_reading()
    tunnel.buffer[:0] = rest
    return transport, bytes(tunnel.buffer)


async def _resolve(host: str, port: int) -> list[Any]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(infos)
