"""Opening a connection on CPython: TCP, TLS and the HTTP/1.1 upgrade, within one timeout.

The opening phase has its own asyncio.Protocol, so the per-message path in
:class:`~omniws.native.connection.Connection` carries none of the handshake's state.
Once the server answers 101, the transport is handed to the Connection. A proxy
(``proxy.py``) and redirects (decided by :mod:`omniws.protocol.redirects`) are handled
here too, all within ``connect_timeout``; a timeout names the stage that stalled.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys

from .._opening import MAX_ERROR_BODY, Progress, accept, expected_body, target, upgrade
from ..config import WebSocketConfig
from ..errors import ConnectionFailed, HandshakeRejected, WebSocketError
from ..protocol.handshake import Response, ResponseReader
from ..protocol.redirects import Redirects
from .connection import Connection
from .proxy import open_tunnel
from .tcp import open_tcp, start_tls

__all__ = ["open_connection"]


async def open_connection(config: WebSocketConfig) -> Connection:
    """Open a connection: proxy, TCP, TLS, the handshake and any redirects, all within
    ``connect_timeout``. A timeout raises WebSocketTimeout naming the stage that stalled
    (and the proxy, without its password)."""
    timeout = config.connect_timeout
    current: list[_Opening] = []
    progress = Progress(config.transport)
    try:
        return await asyncio.wait_for(_follow_redirects(config, current, progress), timeout)
    except asyncio.TimeoutError as exc:
        if timeout is None or isinstance(exc, WebSocketError):
            raise  # not our deadline
        raise progress.timeout_error(timeout) from None
    finally:
        for opening in current:
            opening.abort()


async def _follow_redirects(
    config: WebSocketConfig, openings: list[_Opening], progress: Progress
) -> Connection:
    redirects = Redirects(config.url, config.headers, config.max_redirects)
    for _ in range(config.max_redirects + 1):
        if redirects.followed:
            config = dataclasses.replace(config, url=redirects.url, headers=redirects.headers)
        opening = _Opening(config, progress)
        openings.append(opening)
        try:
            connection = await opening.run()
        except HandshakeRejected as exc:
            rejection = exc
        else:
            openings.remove(opening)  # the Connection owns the transport now
            return connection
        if opening.response is None or not redirects.follow(opening.response):
            raise rejection
        opening.abort()
    raise ConnectionFailed(  # pragma: no cover - Redirects.follow refuses the extra hop
        f"too many redirects (max_redirects={config.max_redirects})", recoverable=False
    )


class _Opening(asyncio.Protocol):
    """Reads the server's answer to the upgrade request (and a rejection's body)."""

    def __init__(self, config: WebSocketConfig, progress: Progress) -> None:
        self.config = config
        self._progress = progress
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self._reader = ResponseReader()
        self.response: Response | None = None
        self._rest = b""
        self._done: asyncio.Future[None] = self._loop.create_future()
        self._lost = False
        self._via = ""  # " through proxy ..." for the messages

    async def run(self) -> Connection:
        config = self.config
        try:
            transport = await self._connect()
        except BaseException:  # the error raised here supersedes any from the callbacks
            if not self._done.done():
                self._done.cancel()  # a connection_lost still to come must not set it
            elif not self._done.cancelled():
                self._done.exception()  # retrieved: no "never retrieved" warning
            raise
        sent = upgrade(config, self._progress, self._via)
        transport.write(sent.request)
        await self._done
        response = self.response
        if response is None:  # _done completes only with a response or an exception
            raise ConnectionFailed(f"no handshake response from {config.url}")
        subprotocol, deflate = accept(config, sent, response)
        connection = Connection(
            config, self._loop, transport, subprotocol, response.headers, deflate
        )
        transport.set_protocol(connection)
        if self._rest:
            connection.data_received(self._rest)
        if self._lost:
            connection.connection_lost(None)
        elif not connection.reading_paused:  # frames that came with the 101 may fill the queue
            transport.resume_reading()
        return connection

    async def _connect(self) -> asyncio.Transport:
        config = self.config
        endpoint = config.endpoint
        peer, context, proxy = target(config)
        if proxy is None:
            return await open_tcp(self, peer, context, self._progress)
        if context is not None and proxy.scheme == "https" and sys.version_info < (3, 11):
            raise ConnectionFailed(
                f"wss:// through the https:// proxy {proxy} needs TLS inside TLS, which "
                "asyncio supports from Python 3.11; use an http:// proxy URL",
                recoverable=False,
            )
        transport, rest = await open_tunnel(config, proxy, endpoint, self._progress)
        self._transport = transport  # aborted on failure from here on
        self._via = f" through proxy {proxy}"
        if context is None:
            transport.set_protocol(self)
            if rest:
                self.data_received(rest)
            transport.resume_reading()
            return transport
        if rest:
            raise ConnectionFailed(f"proxy {proxy} sent data before the TLS handshake")
        return await start_tls(transport, self, peer, context, self._progress, self._via)

    def abort(self) -> None:
        if self._transport is not None and not self._lost:
            self._transport.abort()

    # ---- asyncio.Protocol callbacks -------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self._done.done():
            self._rest += data  # arrived before the Connection took over
            return
        response = self.response
        if response is not None:  # collecting the body of a rejection
            response.body = (response.body + data)[:MAX_ERROR_BODY]
            if len(response.body) >= expected_body(response):
                self._finish()
            return
        try:
            parsed = self._reader.feed(data)
        except WebSocketError as exc:
            self._done.set_exception(exc)
            return
        if parsed is None:
            return
        response, rest = parsed
        self.response = response
        if response.status == 101:
            self._rest = rest
        else:
            response.body = rest[:MAX_ERROR_BODY]
            if len(response.body) < expected_body(response):
                return  # wait for more of the body, or the end of the connection
        self._finish()

    def _finish(self) -> None:
        if self._transport is not None:  # always: data came through it
            self._transport.pause_reading()  # the Connection resumes once it owns it
        self._done.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        if self._done.done():
            return
        if self.response is not None:  # a rejection whose body ended with the connection
            self._done.set_result(None)
            return
        detail = f": {exc}" if exc else ""
        self._done.set_exception(
            ConnectionFailed(f"server closed the connection during the opening handshake{detail}")
        )
