"""Tunnels through proxies on CPython: HTTP CONNECT (``http://``, ``https://``) here, SOCKS5
in ``socks.py``; the choice of proxy (environment, NO_PROXY) is in ``proxy_env.py``.

:func:`open_tunnel` connects to the proxy and asks it for a TCP tunnel to the target. The
caller then runs TLS (for ``wss://``) and the upgrade through the tunnel. Everything here
runs inside the caller's connect timeout, and reports its stage to a :class:`Progress`.
"""

from __future__ import annotations

import asyncio
import base64
import ssl

from .._urls import Endpoint, ProxyURL
from ..config import WebSocketConfig
from ..errors import ConnectionFailed, WebSocketError
from ..protocol.handshake import ResponseReader
from .socks import socks5_connect
from .tcp import Peer, Progress, open_tcp
from .tunnel import TunnelProtocol, authority

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
    try:
        if proxy.scheme in ("http", "https"):
            await _http_connect(config, tunnel, endpoint, progress)
        else:
            await socks5_connect(tunnel, endpoint, progress)
    except BaseException:
        transport.abort()
        raise
    transport.pause_reading()
    return transport, bytes(tunnel.buffer)


async def _http_connect(
    config: WebSocketConfig, tunnel: TunnelProtocol, endpoint: Endpoint, progress: Progress
) -> None:
    proxy = tunnel.proxy
    target = authority(endpoint.host, endpoint.port)
    lines = [f"CONNECT {target} HTTP/1.1", f"Host: {target}"]
    if proxy.username is not None or proxy.password is not None:
        credentials = f"{proxy.username or ''}:{proxy.password or ''}".encode()
        lines.append(f"Proxy-Authorization: Basic {base64.b64encode(credentials).decode()}")
    if config.user_agent is not None:
        lines.append(f"User-Agent: {config.user_agent}")
    socks_fix = f"a SOCKS5 proxy needs a URL like {proxy._replace(scheme='socks5')}"
    check = f"is it an HTTP proxy? A{socks_fix[1:]}"
    progress.enter(f"the answer of proxy {proxy} to CONNECT {target}", check)
    tunnel.write(("\r\n".join(lines) + "\r\n\r\n").encode("utf-8"))
    reader = ResponseReader()
    what = f"without answering CONNECT {target}"
    head = b""
    for _ in range(1 << 17):  # bounded: the reader refuses a head over 64 KiB first
        head = (head + bytes(tunnel.buffer[: 5 - len(head)]))[:5]
        if head and not b"HTTP/".startswith(head):
            raise ConnectionFailed(
                f"proxy {proxy} did not answer CONNECT in HTTP (it sent {head!r}...); if it is "
                f"a SOCKS proxy, {socks_fix}",
                recoverable=False,
            )
        try:
            parsed = reader.feed(bytes(tunnel.buffer))
        except WebSocketError as exc:
            raise ConnectionFailed(
                f"proxy {proxy} sent an invalid answer to CONNECT: {exc}", recoverable=False
            ) from None
        tunnel.buffer.clear()
        if parsed is not None:
            break
        await tunnel.wait_data(what, f"; {check}")
    else:  # pragma: no cover - unreachable, the head bound comes first
        raise ConnectionFailed(f"proxy {proxy} sent an endless answer to CONNECT")
    response, rest = parsed
    if not 200 <= response.status < 300:
        status = f"HTTP {response.status} {response.reason}".rstrip()
        if response.status == 407:
            hint = (
                "the proxy refused the credentials; check the user and password in its URL"
                if proxy.username is not None
                else "the proxy needs credentials: put them in the proxy URL, "
                "http://user:password@host:port"
            )
            raise ConnectionFailed(
                f"proxy {proxy} refused CONNECT {target}: {status}; {hint}", recoverable=False
            )
        recoverable = response.status >= 500 or response.status == 429
        raise ConnectionFailed(
            f"proxy {proxy} refused CONNECT {target}: {status}", recoverable=recoverable
        )
    tunnel.buffer[:0] = rest
