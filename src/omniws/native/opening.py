"""Opening a connection on CPython: TCP, TLS and the HTTP/1.1 upgrade, within one timeout.

The opening phase has its own asyncio.Protocol, so the per-message path in
:class:`~omniws.native.connection.Connection` carries none of the handshake's state.
Once the server answers 101, the transport is handed to the Connection. A proxy (see
``proxy.py``) and redirects (301, 302, 303, 307, 308; at most ``max_redirects``) are
handled here too, all within ``connect_timeout``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import ssl
import sys

from ..config import Endpoint, WebSocketConfig, as_seconds, parse_url
from ..errors import ConnectionFailed, HandshakeRejected, WebSocketError, WebSocketTimeout
from ..protocol import deflate as _deflate
from ..protocol.handshake import (
    REDIRECT_STATUSES,
    Response,
    ResponseReader,
    build_request,
    redirect_url,
    validate_response,
)
from .connection import Connection
from .proxy import open_tunnel, select_proxy

__all__ = ["open_connection"]

_MAX_ERROR_BODY = 2048
_CREDENTIAL_HEADERS = frozenset(("authorization", "cookie"))


async def open_connection(config: WebSocketConfig) -> Connection:
    """Open a connection: proxy, TCP, TLS, the handshake and any redirects, all within
    ``connect_timeout``."""
    timeout = None if config.connect_timeout is None else as_seconds(config.connect_timeout)
    current: list[_Opening] = []
    try:
        return await asyncio.wait_for(_follow_redirects(config, current), timeout)
    except asyncio.TimeoutError:
        assert timeout is not None
        url = current[-1].config.url if current else config.url
        raise WebSocketTimeout(
            "connect",
            timeout,
            hint=f"no complete handshake from {url}; is the server up and is this a "
            "WebSocket endpoint? Raise connect_timeout for slow networks",
        ) from None
    finally:
        for opening in current:
            opening.abort()


async def _follow_redirects(config: WebSocketConfig, openings: list[_Opening]) -> Connection:
    seen = {config.url}
    for hop in range(config.max_redirects + 1):
        opening = _Opening(config)
        openings.append(opening)
        try:
            connection = await opening.run()
        except HandshakeRejected as exc:
            response = opening.response
            if exc.status not in REDIRECT_STATUSES or config.max_redirects == 0:
                raise
            assert response is not None
            target = redirect_url(response, config.url)
            if hop == config.max_redirects:
                raise ConnectionFailed(
                    f"too many redirects: {hop + 1} in a row, the last from {config.url} to "
                    f"{target}; raise max_redirects if this is expected",
                    recoverable=False,
                ) from None
            if target in seen:
                raise ConnectionFailed(
                    f"redirect loop: {config.url} redirected back to {target}",
                    recoverable=False,
                ) from None
            seen.add(target)
            opening.abort()
            config = _redirected(config, target)
            continue
        openings.remove(opening)  # the Connection owns the transport now
        return connection
    raise AssertionError("unreachable")  # pragma: no cover


def _origin(endpoint: Endpoint) -> tuple[bool, str, int]:
    return endpoint.secure, endpoint.host.lower(), endpoint.port


def _redirected(config: WebSocketConfig, url: str) -> WebSocketConfig:
    """The config for the redirect's target; credentials stay behind on another origin."""
    headers = dict(config.headers)
    if _origin(parse_url(url)) != _origin(config.endpoint):
        headers = {k: v for k, v in headers.items() if k.lower() not in _CREDENTIAL_HEADERS}
    return dataclasses.replace(config, url=url, headers=headers)


class _Opening(asyncio.Protocol):
    """Reads the server's answer to the upgrade request (and a rejection's body)."""

    def __init__(self, config: WebSocketConfig) -> None:
        self.config = config
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self._reader = ResponseReader()
        self.response: Response | None = None
        self._rest = b""
        self._done: asyncio.Future[None] = self._loop.create_future()
        self._lost = False

    async def run(self) -> Connection:
        config = self.config
        transport = await self._connect()
        compression = config.deflate  # protocol/ takes plain values, not omniws.config
        params = _deflate.DeflateParams(**dataclasses.asdict(compression)) if compression else None
        request, key = build_request(
            config.endpoint,
            headers=config.headers,
            protocols=config.protocols,
            extensions=_deflate.offer(params) if params else None,
            origin=config.origin,
            user_agent=config.user_agent,
        )
        transport.write(request)
        await self._done
        response = self.response
        assert response is not None
        subprotocol, extensions = validate_response(
            response, key, config.protocols, params is not None
        )
        deflate = _deflate.accept(extensions, params) if extensions and params else None
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
        endpoint = self.config.endpoint
        context: ssl.SSLContext | None = None
        if endpoint.secure:
            context = self.config.ssl or ssl.create_default_context()
        proxy = select_proxy(self.config, endpoint)
        if proxy is not None:
            if context is not None and proxy.scheme == "https" and sys.version_info < (3, 11):
                raise ConnectionFailed(
                    f"wss:// through the https:// proxy {proxy} needs TLS inside TLS, which "
                    "asyncio supports from Python 3.11; use an http:// proxy URL",
                    recoverable=False,
                )
            transport, rest = await open_tunnel(self.config, proxy, endpoint)
            self._transport = transport  # aborted on failure from here on
            if context is None:
                transport.set_protocol(self)
                if rest:
                    self.data_received(rest)
                transport.resume_reading()
                return transport
            if rest:
                raise ConnectionFailed(f"proxy {proxy} sent data before the TLS handshake")
            try:
                tls = await self._loop.start_tls(
                    transport, self, context, server_hostname=endpoint.host
                )
            except ssl.SSLCertVerificationError as exc:
                raise _certificate_error(endpoint, exc) from exc
            except (ssl.SSLError, OSError) as exc:
                raise ConnectionFailed(
                    f"TLS handshake with {endpoint.host} through proxy {proxy} failed: {exc}"
                ) from exc
            assert tls is not None
            self.connection_made(tls)
            return tls
        try:
            transport, _ = await self._loop.create_connection(
                lambda: self,
                endpoint.host,
                endpoint.port,
                ssl=context,
                server_hostname=endpoint.host if context else None,
            )
        except ssl.SSLCertVerificationError as exc:
            raise _certificate_error(endpoint, exc) from exc
        except socket.gaierror as exc:
            raise ConnectionFailed(f"cannot resolve host {endpoint.host!r}: {exc}") from exc
        except OSError as exc:
            raise ConnectionFailed(
                f"cannot connect to {endpoint.host}:{endpoint.port}: {exc.strerror or exc}"
            ) from exc
        return transport

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
            response.body = (response.body + data)[:_MAX_ERROR_BODY]
            if len(response.body) >= self._expected_body():
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
            response.body = rest[:_MAX_ERROR_BODY]
            if len(response.body) < self._expected_body():
                return  # wait for more of the body, or the end of the connection
        self._finish()

    def _expected_body(self) -> int:
        assert self.response is not None
        length = self.response.headers.get("content-length", "0").strip()
        if length.isascii() and length.isdigit() and len(length) <= 18:
            return min(int(length), _MAX_ERROR_BODY)
        return 0

    def _finish(self) -> None:
        assert self._transport is not None
        self._transport.pause_reading()  # the Connection resumes once it owns the transport
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


def _certificate_error(endpoint: Endpoint, exc: ssl.SSLCertVerificationError) -> ConnectionFailed:
    return ConnectionFailed(
        f"TLS certificate of {endpoint.host} was rejected ({exc.verify_message}); to "
        "trust a private CA pass ssl=ssl.create_default_context(cafile='ca.pem')",
        recoverable=False,
    )
