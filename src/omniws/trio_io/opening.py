"""Opening a connection under trio: proxy, TCP, TLS, the HTTP/1.1 upgrade and redirects,
within ``connect_timeout``, as on asyncio (``omniws.native.opening``): the same stages name
what stalled, the same errors say what failed. Once the server answers 101, the stream is
handed to a :class:`~omniws.trio_io.connection.Connection`.
"""

from __future__ import annotations

import dataclasses
import math

import trio

from .._opening import (
    MAX_ERROR_BODY,
    Progress,
    accept,
    expected_body,
    target,
    upgrade,
)
from ..config import WebSocketConfig
from ..errors import ConfigError, ConnectionFailed
from ..protocol.handshake import Response, ResponseReader
from ..protocol.redirects import Redirects
from .connection import Connection
from .streams import STREAM_ERRORS, StreamReader, open_tcp, open_tunnel, start_tls

__all__ = ["open_connection"]


async def open_connection(config: WebSocketConfig) -> Connection:
    """Open a connection: proxy, TCP, TLS, the handshake and any redirects, all within
    ``connect_timeout``. A timeout raises WebSocketTimeout naming the stage that stalled
    (and the proxy, without its password)."""
    if config.transport != "auto":  # OMNIWS_TRANSPORT, a process-wide default, is asyncio's
        raise ConfigError(
            "transport",
            f"{config.transport!r} is an asyncio transport; under trio omniws uses trio's "
            "streams: leave transport='auto'",
        )
    timeout = config.connect_timeout
    progress = Progress(config.transport)
    with trio.move_on_after(math.inf if timeout is None else timeout):
        return await _follow_redirects(config, progress)
    raise progress.timeout_error(math.inf if timeout is None else timeout)


async def _follow_redirects(config: WebSocketConfig, progress: Progress) -> Connection:
    redirects = Redirects(config.url, config.headers, config.max_redirects)
    for _ in range(config.max_redirects + 1):
        if redirects.followed:
            config = dataclasses.replace(config, url=redirects.url, headers=redirects.headers)
        stream, rest, via = await _connect(config, progress)
        try:
            sent = upgrade(config, progress, via)
            response, rest = await _handshake(stream, rest, sent.request)
            if response.status != 101 and redirects.follow(response):
                await trio.aclose_forcefully(stream)
                continue
            subprotocol, deflate = accept(config, sent, response)
        except BaseException:
            await trio.aclose_forcefully(stream)
            raise
        connection = Connection(config, stream, subprotocol, response.headers, deflate)
        connection._start(rest)
        return connection
    raise ConnectionFailed(  # pragma: no cover - Redirects.follow refuses the extra hop
        f"too many redirects (max_redirects={config.max_redirects})", recoverable=False
    )


async def _connect(
    config: WebSocketConfig, progress: Progress
) -> tuple[trio.abc.Stream, bytes, str]:
    """The stream to the server (through a proxy, with TLS for wss://), the bytes that
    came with it, and " through proxy ..." for the messages."""
    peer, context, proxy = target(config)
    via = ""
    if proxy is None:
        stream: trio.abc.Stream = await open_tcp(peer, progress)
        rest = b""
    else:
        stream, rest = await open_tunnel(config, proxy, config.endpoint, progress)
        via = f" through proxy {proxy}"
    if context is not None:
        if rest:
            await trio.aclose_forcefully(stream)
            raise ConnectionFailed(f"proxy {proxy} sent data before the TLS handshake")
        stream = await start_tls(stream, peer, context, progress, via)
    return stream, rest, via


def _closed(what: str, hint: str, error: BaseException | None) -> ConnectionFailed:
    detail = f": {error}" if error else ""
    return ConnectionFailed(f"server closed the connection during the opening handshake{detail}")


async def _handshake(
    stream: trio.abc.Stream, rest: bytes, request: bytes
) -> tuple[Response, bytes]:
    """Send the upgrade request and read the answer (and up to 2 KiB of a rejection's
    body); return it and the bytes after it."""
    try:
        await stream.send_all(request)
    except STREAM_ERRORS as exc:
        raise _closed("", "", exc) from None
    reader = StreamReader(stream, _closed, rest)
    head = ResponseReader()
    parsed = head.feed(reader.read_buffered())
    while parsed is None:
        parsed = head.feed(await reader.read(0, ""))
    response, after = parsed
    if response.status == 101:
        return response, after
    response.body = after[:MAX_ERROR_BODY]
    while len(response.body) < expected_body(response):
        try:
            more = await reader.read(0, "")
        except ConnectionFailed:
            break  # a rejection whose body ended with the connection
        response.body = (response.body + more)[:MAX_ERROR_BODY]
    return response, b""
