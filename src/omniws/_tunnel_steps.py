"""Asking a proxy for a tunnel, without I/O: HTTP CONNECT and SOCKS5 (RFC 1928, with
RFC 1929 user name and password) as generators of steps, shared by asyncio and trio.

A platform drives a generator (:func:`drive` does the bookkeeping): it sends what a
:class:`Write` holds, answers a :class:`Read` with the next ``size`` bytes of the proxy's
answer (``size=0``: whatever arrives, at least one byte), and a :class:`Resolve` with the
``getaddrinfo`` list for the host (or the ``OSError`` it raised). The generator's value is
what the proxy sent after its answer (the start of the tunnelled stream).
"""

from __future__ import annotations

import base64
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Generator
from typing import Any, NamedTuple

from ._opening import Progress, authority
from ._urls import Endpoint, ProxyURL
from .errors import ConnectionFailed, WebSocketError
from .protocol.handshake import ResponseReader

__all__ = [
    "Read",
    "Resolve",
    "Steps",
    "Write",
    "closed_error",
    "drive",
    "http_connect",
    "socks5_connect",
]


class Write(NamedTuple):
    """Send ``data`` to the proxy."""

    data: bytes


class Read(NamedTuple):
    """The next ``size`` bytes (0: what has arrived, at least one byte); a proxy that hangs
    up instead fails the opening with ``what`` and ``hint`` in the message."""

    size: int
    what: str
    hint: str = ""


class Resolve(NamedTuple):
    """Look ``host`` up (``getaddrinfo`` for TCP on ``port``)."""

    host: str
    port: int


def closed_error(
    proxy: ProxyURL, what: str, hint: str = "", lost: BaseException | None = None
) -> ConnectionFailed:
    """The error for a proxy that hung up ``what`` (during which step)."""
    detail = f" ({lost})" if lost else ""
    return ConnectionFailed(f"proxy {proxy} closed the connection {what}{detail}{hint}")


Steps = Generator[Write | Read | Resolve, Any, bytes]


async def drive(
    steps: Steps,
    write: Callable[[bytes], Awaitable[None] | None],
    read: Callable[[int, str, str], Awaitable[bytes]],
    resolve: Callable[[str, int], Awaitable[list[Any]]],
) -> bytes:
    """Run ``steps`` with a platform's ``write``, ``read`` and ``resolve``."""
    value: Any = None
    while True:
        try:
            step = steps.send(value)
        except StopIteration as stop:
            rest: bytes = stop.value
            return rest
        if isinstance(step, Write):
            pending = write(step.data)
            if pending is not None:
                await pending
            value = None
        elif isinstance(step, Read):
            value = await read(step.size, step.what, step.hint)
        else:
            try:
                value = await resolve(step.host, step.port)
            except OSError as exc:
                value = exc


def http_connect(
    proxy: ProxyURL, endpoint: Endpoint, user_agent: str | None, progress: Progress
) -> Steps:
    """HTTP CONNECT to ``endpoint`` through ``proxy`` (``http://`` or ``https://``)."""
    target = authority(endpoint.host, endpoint.port)
    lines = [f"CONNECT {target} HTTP/1.1", f"Host: {target}"]
    if proxy.username is not None or proxy.password is not None:
        credentials = f"{proxy.username or ''}:{proxy.password or ''}".encode()
        lines.append(f"Proxy-Authorization: Basic {base64.b64encode(credentials).decode()}")
    if user_agent is not None:
        lines.append(f"User-Agent: {user_agent}")
    socks_fix = f"a SOCKS5 proxy needs a URL like {proxy._replace(scheme='socks5')}"
    check = f"is it an HTTP proxy? A{socks_fix[1:]}"
    progress.enter(f"the answer of proxy {proxy} to CONNECT {target}", check)
    yield Write(("\r\n".join(lines) + "\r\n\r\n").encode("utf-8"))
    reader = ResponseReader()
    head = b""
    for _ in range(1 << 17):  # bounded: the reader refuses a head over 64 KiB first
        data = yield Read(0, f"without answering CONNECT {target}", f"; {check}")
        head = (head + data[: 5 - len(head)])[:5]
        if head and not b"HTTP/".startswith(head):
            raise ConnectionFailed(
                f"proxy {proxy} did not answer CONNECT in HTTP (it sent {head!r}...); if it is "
                f"a SOCKS proxy, {socks_fix}",
                recoverable=False,
            )
        try:
            parsed = reader.feed(data)
        except WebSocketError as exc:
            raise ConnectionFailed(
                f"proxy {proxy} sent an invalid answer to CONNECT: {exc}", recoverable=False
            ) from None
        if parsed is not None:
            break
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
    return rest


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


def socks5_connect(proxy: ProxyURL, endpoint: Endpoint, progress: Progress) -> Steps:
    """A SOCKS5 tunnel to ``endpoint`` through ``proxy`` (``socks5://``, ``socks5h://``)."""
    http_fix = f"an HTTP proxy needs a URL like {proxy._replace(scheme='http')}"
    check = f"is it a SOCKS5 proxy? A{http_fix[1:]}"
    progress.enter(f"the answer of proxy {proxy} to the SOCKS5 greeting", check)
    what = "during the SOCKS5 handshake"
    auth = proxy.username is not None or proxy.password is not None
    yield Write(b"\x05\x02\x00\x02" if auth else b"\x05\x01\x00")
    version, method = yield Read(2, what, f"; {check}")
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
        yield Write(bytes((1, len(user))) + user + bytes((len(password),)) + password)
        _, status = yield Read(2, what)
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
    address = yield from _socks_address(proxy, endpoint, progress)
    target = authority(endpoint.host, endpoint.port)
    progress.enter(
        f"the answer of proxy {proxy} to the SOCKS5 request for {target}",
        "is the target reachable from the proxy?",
    )
    yield Write(b"\x05\x01\x00" + address + endpoint.port.to_bytes(2, "big"))
    version, reply, _, address_type = yield Read(4, what)
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
        size = (yield Read(1, what))[0]
    else:
        raise ConnectionFailed(
            f"proxy {proxy} sent a SOCKS5 reply with address type {address_type}",
            recoverable=False,
        )
    yield Read(size + 2, what)  # the bound address and port: unused
    return b""


def _socks_address(
    proxy: ProxyURL, endpoint: Endpoint, progress: Progress
) -> Generator[Resolve, Any, bytes]:
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
        progress.enter(
            f"the DNS answer for {host!r}", "socks5h:// lets the proxy resolve names instead"
        )
        infos = yield Resolve(host, endpoint.port)
        if isinstance(infos, socket.gaierror):
            raise ConnectionFailed(
                f"cannot resolve host {host!r} (socks5:// resolves names locally; "
                f"socks5h:// lets the proxy resolve them): {infos}"
            ) from infos
        if isinstance(infos, OSError):
            raise infos from None
        if not infos:
            raise ConnectionFailed(f"cannot resolve host {host!r}") from None
        ip = ipaddress.ip_address(str(infos[0][4][0]).partition("%")[0])
    return (b"\x01" if ip.version == 4 else b"\x04") + ip.packed
