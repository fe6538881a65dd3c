"""SOCKS5 tunnels (RFC 1928, with RFC 1929 user name and password) over a connected proxy."""

from __future__ import annotations

import asyncio
import ipaddress
import socket

from .._urls import Endpoint, ProxyURL
from ..errors import ConnectionFailed
from .tcp import Progress
from .tunnel import TunnelProtocol, authority

__all__ = ["socks5_connect"]

_SOCKS_REPLIES = {
    1: "general SOCKS server failure",
    2: "connection not allowed by ruleset",
    3: "network unreachable",
    4: "host unreachable",
    5: "connection refused by the target",
    6: "TTL expired",
    7: "command not supported",
    8: "address type not supported",
}
_SOCKS_PERMANENT = frozenset((2, 7, 8))  # the same request will be refused again


async def socks5_connect(tunnel: TunnelProtocol, endpoint: Endpoint, progress: Progress) -> None:
    """Ask the SOCKS5 proxy behind ``tunnel`` for a TCP tunnel to ``endpoint``."""
    proxy = tunnel.proxy
    http_fix = f"an HTTP proxy needs a URL like {proxy._replace(scheme='http')}"
    check = f"is it a SOCKS5 proxy? A{http_fix[1:]}"
    progress.enter(f"the answer of proxy {proxy} to the SOCKS5 greeting", check)
    what = "during the SOCKS5 handshake"
    hint = f"; {check}"
    auth = proxy.username is not None or proxy.password is not None
    tunnel.write(b"\x05\x02\x00\x02" if auth else b"\x05\x01\x00")
    version, method = await tunnel.read_exactly(2, what, hint)
    if version != 5:
        protocol = "HTTP" if version == ord("H") else f"another protocol (version byte {version})"
        raise ConnectionFailed(
            f"proxy {proxy} does not speak SOCKS5: it answered in {protocol}; {http_fix}",
            recoverable=False,
        )
    progress.enter(f"the SOCKS5 handshake with proxy {proxy}", "is the proxy overloaded?")
    if method == 0x02 and auth:
        user = (proxy.username or "").encode()
        password = (proxy.password or "").encode()
        if len(user) > 255 or len(password) > 255:
            raise ConnectionFailed(
                f"SOCKS5 user name and password are limited to 255 bytes (proxy {proxy})",
                recoverable=False,
            )
        tunnel.write(bytes((1, len(user))) + user + bytes((len(password),)) + password)
        _, status = await tunnel.read_exactly(2, what)
        if status != 0:
            raise ConnectionFailed(
                f"proxy {proxy} refused the SOCKS5 user name and password (status {status})",
                recoverable=False,
            )
    elif method != 0x00:
        needs = "credentials: put them in the proxy URL" if not auth else "another method"
        raise ConnectionFailed(
            f"proxy {proxy} accepts none of our SOCKS5 authentication methods (answered "
            f"{method:#04x}); it needs {needs}",
            recoverable=False,
        )
    address = await _socks_address(proxy, endpoint, progress)
    target = authority(endpoint.host, endpoint.port)
    progress.enter(
        f"the answer of proxy {proxy} to the SOCKS5 request for {target}",
        "is the target reachable from the proxy?",
    )
    tunnel.write(b"\x05\x01\x00" + address + endpoint.port.to_bytes(2, "big"))
    version, reply, _, address_type = await tunnel.read_exactly(4, what)
    if version != 5:
        raise ConnectionFailed(f"proxy {proxy} sent an invalid SOCKS5 reply", recoverable=False)
    if reply != 0:
        meaning = _SOCKS_REPLIES.get(reply, "unknown reply code")
        raise ConnectionFailed(
            f"proxy {proxy} refused to connect to {target}: SOCKS5 reply {reply} ({meaning})",
            recoverable=reply not in _SOCKS_PERMANENT,
        )
    if address_type == 1:
        size = 4
    elif address_type == 4:
        size = 16
    elif address_type == 3:
        size = (await tunnel.read_exactly(1, what))[0]
    else:
        raise ConnectionFailed(
            f"proxy {proxy} sent a SOCKS5 reply with address type {address_type}",
            recoverable=False,
        )
    await tunnel.read_exactly(size + 2, what)  # the bound address and port: unused


async def _socks_address(proxy: ProxyURL, endpoint: Endpoint, progress: Progress) -> bytes:
    """ATYP and address: an IP (resolved here for socks5://) or the name (socks5h://)."""
    host = endpoint.host
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        if proxy.scheme == "socks5h":
            try:
                name = host.encode("idna")
            except UnicodeError as exc:
                raise ConnectionFailed(
                    f"host name {host!r} is not valid for SOCKS5: {exc}", recoverable=False
                ) from None
            if len(name) > 255:
                raise ConnectionFailed(f"host name too long for SOCKS5: {host!r}") from None
            return bytes((3, len(name))) + name
        loop = asyncio.get_running_loop()
        progress.enter(
            f"the DNS answer for {host!r}", "socks5h:// lets the proxy resolve names instead"
        )
        try:
            infos = await loop.getaddrinfo(host, endpoint.port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise ConnectionFailed(
                f"cannot resolve host {host!r} (socks5:// resolves names locally; "
                f"socks5h:// lets the proxy resolve them): {exc}"
            ) from exc
        if not infos:
            raise ConnectionFailed(f"cannot resolve host {host!r}") from None
        ip = ipaddress.ip_address(str(infos[0][4][0]).partition("%")[0])
    return (b"\x01" if ip.version == 4 else b"\x04") + ip.packed
