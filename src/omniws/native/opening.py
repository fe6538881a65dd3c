"""Opening a connection on CPython: TCP, TLS and the HTTP/1.1 upgrade, within one timeout.

The opening phase has its own asyncio.Protocol, so the per-message path in
:class:`~omniws.native.connection.Connection` carries none of the handshake's state.
Once the server answers 101, the transport is handed to the Connection.
"""

from __future__ import annotations

import asyncio
import socket
import ssl

from ..config import WebSocketConfig, as_seconds
from ..errors import ConnectionFailed, WebSocketError, WebSocketTimeout
from ..protocol import deflate as _deflate
from ..protocol.handshake import Response, ResponseReader, build_request, validate_response
from .connection import Connection

__all__ = ["open_connection"]

_MAX_ERROR_BODY = 2048


async def open_connection(config: WebSocketConfig) -> Connection:
    """Open a connection: TCP, TLS and the handshake, all within ``connect_timeout``."""
    timeout = None if config.connect_timeout is None else as_seconds(config.connect_timeout)
    opening = _Opening(config)
    try:
        return await asyncio.wait_for(opening.run(), timeout)
    except asyncio.TimeoutError:
        opening.abort()
        assert timeout is not None
        raise WebSocketTimeout(
            "connect",
            timeout,
            hint=f"no complete handshake from {config.url}; is the server up and is this a "
            "WebSocket endpoint? Raise connect_timeout for slow networks",
        ) from None
    except BaseException:
        opening.abort()
        raise


class _Opening(asyncio.Protocol):
    """Reads the server's answer to the upgrade request (and a rejection's body)."""

    def __init__(self, config: WebSocketConfig) -> None:
        self.config = config
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self._reader = ResponseReader()
        self._response: Response | None = None
        self._rest = b""
        self._done: asyncio.Future[None] = self._loop.create_future()
        self._lost = False

    async def run(self) -> Connection:
        config = self.config
        transport = await self._connect()
        deflate_config = config.deflate
        request, key = build_request(
            config.endpoint,
            headers=config.headers,
            protocols=config.protocols,
            extensions=_deflate.offer(deflate_config) if deflate_config else None,
            origin=config.origin,
            user_agent=config.user_agent,
        )
        transport.write(request)
        await self._done
        response = self._response
        assert response is not None
        subprotocol, extensions = validate_response(
            response, key, config.protocols, deflate_config is not None
        )
        deflate = (
            _deflate.accept(extensions, deflate_config) if extensions and deflate_config else None
        )
        connection = Connection(
            config, self._loop, transport, subprotocol, response.headers, deflate
        )
        transport.set_protocol(connection)
        if self._rest:
            connection.data_received(self._rest)
        if self._lost:
            connection.connection_lost(None)
        else:
            transport.resume_reading()
        return connection

    async def _connect(self) -> asyncio.Transport:
        endpoint = self.config.endpoint
        context: ssl.SSLContext | None = None
        if endpoint.secure:
            context = self.config.ssl or ssl.create_default_context()
        try:
            transport, _ = await self._loop.create_connection(
                lambda: self,
                endpoint.host,
                endpoint.port,
                ssl=context,
                server_hostname=endpoint.host if context else None,
            )
        except ssl.SSLCertVerificationError as exc:
            raise ConnectionFailed(
                f"TLS certificate of {endpoint.host} was rejected ({exc.verify_message}); to "
                "trust a private CA pass ssl=ssl.create_default_context(cafile='ca.pem')",
                recoverable=False,
            ) from exc
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
        response = self._response
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
        self._response = response
        if response.status == 101:
            self._rest = rest
        else:
            response.body = rest[:_MAX_ERROR_BODY]
            if len(response.body) < self._expected_body():
                return  # wait for more of the body, or the end of the connection
        self._finish()

    def _expected_body(self) -> int:
        assert self._response is not None
        length = self._response.headers.get("content-length", "0")
        return min(int(length), _MAX_ERROR_BODY) if length.isdigit() else 0

    def _finish(self) -> None:
        assert self._transport is not None
        self._transport.pause_reading()  # the Connection resumes once it owns the transport
        self._done.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        if self._done.done():
            return
        if self._response is not None:  # a rejection whose body ended with the connection
            self._done.set_result(None)
            return
        detail = f": {exc}" if exc else ""
        self._done.set_exception(
            ConnectionFailed(f"server closed the connection during the opening handshake{detail}")
        )
