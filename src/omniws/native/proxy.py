"""Proxies on CPython: HTTP CONNECT (``http://``, ``https://``) and SOCKS5 (RFC 1928/1929).

:func:`select_proxy` picks the proxy for a URL (the ``proxy`` option, else the usual
environment variables); :func:`open_tunnel` connects to it and asks it for a TCP tunnel
to the target. The caller then runs TLS (for ``wss://``) and the upgrade through the tunnel.
Everything here runs inside the caller's connect timeout.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import socket
import ssl
import urllib.request

from ..config import Endpoint, ProxyURL, WebSocketConfig, parse_proxy_url
from ..errors import ConnectionFailed, WebSocketError
from ..protocol.handshake import ResponseReader

__all__ = ["open_tunnel", "select_proxy"]

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


def select_proxy(config: WebSocketConfig, endpoint: Endpoint) -> ProxyURL | None:
    """The proxy for ``endpoint``: ``config.proxy``, else the environment (unless off).

    ``wss://`` uses HTTPS_PROXY, ``ws://`` HTTP_PROXY, both fall back to ALL_PROXY;
    lower-case names win over upper-case ones; NO_PROXY lists hosts to reach directly.
    """
    if config.proxy is not None:
        return parse_proxy_url(config.proxy)
    if not config.proxy_from_env:
        return None
    proxies = urllib.request.getproxies_environment()
    for key in ("https" if endpoint.secure else "http", "all"):
        value = proxies.get(key)
        if value:
            break
    else:
        return None
    if _bypass(endpoint.host, endpoint.port, proxies.get("no", "")):
        return None
    return parse_proxy_url(value, f"{key.upper()}_PROXY (environment variable)")


def _bypass(host: str, port: int, no_proxy: str) -> bool:
    """Whether NO_PROXY (``*``, or names, domain suffixes, IPs, optionally with a port)
    says to reach ``host`` directly."""
    host = host.lower()
    for entry in no_proxy.lower().split(","):
        entry = entry.strip().lstrip(".")
        if entry == "*":
            return True
        if not entry:
            continue
        name, _, entry_port = entry.rpartition(":") if entry.count(":") == 1 else (entry, "", "")
        if entry.startswith("[") and "]:" in entry:
            name, _, entry_port = entry[1:].partition("]:")
        name = name.strip("[]")
        if entry_port and entry_port != str(port):
            continue
        if host == name or host.endswith("." + name):
            return True
    return False


class _TunnelProtocol(asyncio.Protocol):
    """Buffers the proxy's answers for the coroutines below (bounded by their readers)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self._waiter: asyncio.Future[None] | None = None
        self.lost: Exception | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._wake()

    def eof_received(self) -> bool | None:
        self.closed = True
        self._wake()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.lost = exc
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def wait_data(self, what: str) -> None:
        """Wait for more bytes; ConnectionFailed when the proxy hangs up first."""
        if self.closed:
            detail = f" ({self.lost})" if self.lost else ""
            raise ConnectionFailed(f"the proxy closed the connection {what}{detail}")
        self._waiter = self._loop.create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    async def read_exactly(self, size: int, what: str) -> bytes:
        for _ in range(size + 1):  # every wait adds at least one byte or raises
            if len(self.buffer) >= size:
                break
            await self.wait_data(what)
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    def write(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)


async def open_tunnel(
    config: WebSocketConfig, proxy: ProxyURL, endpoint: Endpoint
) -> tuple[asyncio.Transport, bytes]:
    """Connect to ``proxy`` and open a tunnel to ``endpoint``; return the transport
    (reading paused) and any bytes that arrived after the proxy's answer."""
    loop = asyncio.get_running_loop()
    tunnel = _TunnelProtocol(loop)
    context: ssl.SSLContext | None = None
    if proxy.scheme == "https":
        context = config.proxy_ssl or ssl.create_default_context()
    try:
        await loop.create_connection(
            lambda: tunnel,
            proxy.host,
            proxy.port,
            ssl=context,
            server_hostname=proxy.host if context else None,
        )
    except ssl.SSLCertVerificationError as exc:
        raise ConnectionFailed(
            f"TLS certificate of proxy {proxy} was rejected ({exc.verify_message}); to trust "
            "a private CA pass proxy_ssl=ssl.create_default_context(cafile='ca.pem')",
            recoverable=False,
        ) from exc
    except socket.gaierror as exc:
        raise ConnectionFailed(f"cannot resolve proxy host {proxy.host!r}: {exc}") from exc
    except OSError as exc:
        raise ConnectionFailed(f"cannot connect to proxy {proxy}: {exc.strerror or exc}") from exc
    transport = tunnel.transport
    assert transport is not None
    try:
        if proxy.scheme in ("http", "https"):
            await _http_connect(config, tunnel, proxy, endpoint)
        else:
            await _socks5_connect(loop, tunnel, proxy, endpoint)
    except BaseException:
        transport.abort()
        raise
    transport.pause_reading()
    return transport, bytes(tunnel.buffer)


def _authority(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


async def _http_connect(
    config: WebSocketConfig, tunnel: _TunnelProtocol, proxy: ProxyURL, endpoint: Endpoint
) -> None:
    target = _authority(endpoint.host, endpoint.port)
    lines = [f"CONNECT {target} HTTP/1.1", f"Host: {target}"]
    if proxy.username is not None or proxy.password is not None:
        credentials = f"{proxy.username or ''}:{proxy.password or ''}".encode()
        lines.append(f"Proxy-Authorization: Basic {base64.b64encode(credentials).decode()}")
    if config.user_agent is not None:
        lines.append(f"User-Agent: {config.user_agent}")
    tunnel.write(("\r\n".join(lines) + "\r\n\r\n").encode("utf-8"))
    reader = ResponseReader()
    what = f"in answer to CONNECT {target}"
    for _ in range(1 << 17):  # bounded: the reader refuses a head over 64 KiB first
        try:
            parsed = reader.feed(bytes(tunnel.buffer))
        except WebSocketError as exc:
            raise ConnectionFailed(
                f"proxy {proxy} sent an invalid answer to CONNECT: {exc}", recoverable=False
            ) from None
        tunnel.buffer.clear()
        if parsed is not None:
            break
        await tunnel.wait_data(what)
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


async def _socks5_connect(
    loop: asyncio.AbstractEventLoop, tunnel: _TunnelProtocol, proxy: ProxyURL, endpoint: Endpoint
) -> None:
    what = "during the SOCKS5 handshake"
    auth = proxy.username is not None or proxy.password is not None
    tunnel.write(b"\x05\x02\x00\x02" if auth else b"\x05\x01\x00")
    version, method = await tunnel.read_exactly(2, what)
    if version != 5:
        raise ConnectionFailed(
            f"proxy {proxy} does not speak SOCKS5 (version byte {version})", recoverable=False
        )
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
    address = await _socks_address(loop, proxy, endpoint)
    tunnel.write(b"\x05\x01\x00" + address + endpoint.port.to_bytes(2, "big"))
    version, reply, _, address_type = await tunnel.read_exactly(4, what)
    if version != 5:
        raise ConnectionFailed(f"proxy {proxy} sent an invalid SOCKS5 reply", recoverable=False)
    if reply != 0:
        meaning = _SOCKS_REPLIES.get(reply, "unknown reply code")
        raise ConnectionFailed(
            f"proxy {proxy} refused to connect to {_authority(endpoint.host, endpoint.port)}: "
            f"SOCKS5 reply {reply} ({meaning})",
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


async def _socks_address(
    loop: asyncio.AbstractEventLoop, proxy: ProxyURL, endpoint: Endpoint
) -> bytes:
    """ATYP and address: an IP (resolved here for socks5://) or the name (socks5h://)."""
    host = endpoint.host
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        if proxy.scheme == "socks5h":
            name = host.encode("idna")
            if len(name) > 255:
                raise ConnectionFailed(f"host name too long for SOCKS5: {host!r}") from None
            return bytes((3, len(name))) + name
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
