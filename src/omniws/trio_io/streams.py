"""TCP, TLS and proxy tunnels under trio, for the opening phase: ``trio.open_tcp_stream``
(happy eyeballs), ``trio.SSLStream``, and the sans-I/O proxy steps of
:mod:`omniws._tunnel_steps`. Stages and errors read as on asyncio (:mod:`omniws._opening`).
Every function closes what it opened when it fails or is cancelled.
"""

from __future__ import annotations

import ssl
from typing import Any

import trio

from .._opening import Peer, Progress, connect_error, tls_error, tls_stage
from .._tunnel_steps import closed_error, drive, http_connect, socks5_connect
from .._urls import Endpoint, ProxyURL
from ..config import WebSocketConfig

__all__ = ["StreamReader", "open_tcp", "open_tunnel", "start_tls"]

STREAM_ERRORS = (trio.BrokenResourceError, trio.ClosedResourceError, OSError)


async def open_tcp(peer: Peer, progress: Progress) -> trio.SocketStream:
    """A TCP stream to ``peer``; ConnectionFailed names the peer."""
    progress.enter_tcp(peer)
    try:
        return await trio.open_tcp_stream(peer.host, peer.port)
    except (OSError, UnicodeError) as exc:
        raise connect_error(peer, _first_attempt(exc)) from exc


def _first_attempt(exc: OSError | UnicodeError) -> OSError | UnicodeError:
    """The error of the first address tried, when trio reports that all attempts failed
    (its own message names no cause)."""
    if isinstance(exc, OSError) and exc.strerror is None:
        for error in getattr(exc.__cause__, "exceptions", ()):  # an ExceptionGroup
            if isinstance(error, OSError):
                return error
    return exc


async def start_tls(
    stream: trio.abc.Stream, peer: Peer, context: ssl.SSLContext, progress: Progress, via: str = ""
) -> trio.SSLStream[trio.abc.Stream]:
    """TLS with ``peer`` over ``stream`` (closed on failure); ``via`` names a tunnel."""
    tls_stage(progress, peer, via)
    tls = trio.SSLStream(stream, context, server_hostname=peer.host, https_compatible=True)
    try:
        await tls.do_handshake()
    except STREAM_ERRORS as exc:
        await trio.aclose_forcefully(stream)
        cause = exc.__cause__ if isinstance(exc.__cause__, ssl.SSLError) else exc
        raise tls_error(peer, cause, via) from exc
    except BaseException:
        await trio.aclose_forcefully(stream)
        raise
    return tls


class StreamReader:
    """Reads a peer's answers from a stream, keeping what is not used yet in ``buffer``;
    ``closed(what, hint, error)`` makes the error for a peer that hung up."""

    def __init__(self, stream: trio.abc.Stream, closed: Any, buffer: bytes = b"") -> None:
        self.stream = stream
        self.buffer = bytearray(buffer)
        self._closed = closed

    def read_buffered(self) -> bytes:
        """What has arrived and is not read yet (maybe nothing)."""
        data = bytes(self.buffer)
        self.buffer.clear()
        return data

    async def read(self, size: int, what: str, hint: str = "") -> bytes:
        """The next ``size`` bytes (0: what has arrived, at least one byte)."""
        while not self.buffer or len(self.buffer) < size:
            try:
                data = await self.stream.receive_some(65536)
            except STREAM_ERRORS as exc:
                raise self._closed(what, hint, exc) from None
            if not data:
                raise self._closed(what, hint, None)
            self.buffer += data
        size = size or len(self.buffer)
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data


async def open_tunnel(
    config: WebSocketConfig, proxy: ProxyURL, endpoint: Endpoint, progress: Progress
) -> tuple[trio.abc.Stream, bytes]:
    """Connect to ``proxy`` and open a tunnel to ``endpoint``; return the stream and any
    bytes that arrived after the proxy's answer."""
    peer = Peer(proxy.host, proxy.port, f"proxy {proxy}", "proxy_ssl", is_proxy=True)
    stream: trio.abc.Stream = await open_tcp(peer, progress)
    if proxy.scheme == "https":
        context = config.proxy_ssl or ssl.create_default_context()
        stream = await start_tls(stream, peer, context, progress)
    if proxy.scheme in ("http", "https"):
        steps = http_connect(proxy, endpoint, config.user_agent, progress)
    else:
        steps = socks5_connect(proxy, endpoint, progress)

    def closed(what: str, hint: str, error: BaseException | None) -> Exception:
        return closed_error(proxy, what, hint, error)

    reader = StreamReader(stream, closed)
    try:
        rest = await drive(steps, stream.send_all, reader.read, _resolve)
    except BaseException:
        await trio.aclose_forcefully(stream)
        raise
    return stream, rest + bytes(reader.buffer)


async def _resolve(host: str, port: int) -> list[Any]:
    return await trio.socket.getaddrinfo(host, port, type=trio.socket.SOCK_STREAM)
