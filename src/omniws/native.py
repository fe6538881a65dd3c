"""The CPython connection: an asyncio.Protocol that drives the sans-I/O core.

One object per connection, with no task of its own: bytes arrive in ``data_received``,
are parsed there, and complete messages either go straight to a message handler or
into a bounded queue that ``recv()`` reads without a task switch when it is not empty.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections import deque
from collections.abc import Callable
from time import monotonic
from typing import Any

from .config import WebSocketConfig, as_seconds
from .errors import (
    ConnectionClosed,
    ConnectionFailed,
    ProtocolError,
    WebSocketError,
    WebSocketTimeout,
)
from .messages import CloseFrame, Data, Message
from .protocol import deflate as _deflate
from .protocol.connection import WebSocketProtocol
from .protocol.handshake import Response, ResponseReader, build_request, validate_response

__all__ = ["Connection", "open_connection"]

_OPEN, _CLOSING, _CLOSED = 1, 2, 3
_MAX_ERROR_BODY = 2048
MessageHandler = Callable[[Message], object]


async def open_connection(config: WebSocketConfig) -> Connection:
    """Open a connection (TCP, TLS and handshake, all within ``connect_timeout``)."""
    loop = asyncio.get_running_loop()
    connection = Connection(config, loop)
    timeout = None if config.connect_timeout is None else as_seconds(config.connect_timeout)
    try:
        await asyncio.wait_for(connection._open(), timeout)
    except asyncio.TimeoutError:
        connection.abort()
        assert timeout is not None
        raise WebSocketTimeout(
            "connect",
            timeout,
            hint=f"no complete handshake from {config.url}; is the server "
            "up and is this a WebSocket endpoint? Raise connect_timeout for slow networks",
        ) from None
    except BaseException:
        connection.abort()
        raise
    return connection


class Connection(asyncio.Protocol):
    """An open WebSocket connection on CPython. Get one from :func:`omniws.connect`."""

    def __init__(self, config: WebSocketConfig, loop: asyncio.AbstractEventLoop) -> None:
        self.config = config
        self._loop = loop
        self._transport: asyncio.Transport | None = None
        self._protocol: WebSocketProtocol | None = None
        self._reader: ResponseReader | None = ResponseReader()
        self._response: Response | None = None
        self._key = ""
        self._handshake: asyncio.Future[None] = loop.create_future()
        self._closed: asyncio.Future[CloseFrame] = loop.create_future()
        self._state = _OPEN
        self._queue: deque[Message] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._reading_paused = False
        self._write_paused = False
        self._drain_waiters: list[asyncio.Future[None]] = []
        self._pings: dict[bytes, tuple[asyncio.Future[float], float]] = {}
        self._ping_counter = 0
        self._close_timer: asyncio.TimerHandle | None = None
        self.last_received = monotonic()
        self.subprotocol: str | None = None
        self.response_headers: dict[str, str] = {}
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self.close_error: WebSocketError | None = None

    # ---- opening --------------------------------------------------------------------
    async def _open(self) -> None:
        config = self.config
        endpoint = config.endpoint
        context: ssl.SSLContext | None = None
        if endpoint.secure:
            context = config.ssl or ssl.create_default_context()
        try:
            await self._loop.create_connection(
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
        deflate = config.deflate
        request, self._key = build_request(
            endpoint,
            headers=config.headers,
            protocols=config.protocols,
            extensions=_deflate.offer(deflate) if deflate else None,
            origin=config.origin,
            user_agent=config.user_agent,
        )
        assert self._transport is not None
        self._transport.write(request)
        await self._handshake

    def _handshake_data(self, data: bytes) -> None:
        if self._response is not None:  # collecting the body of a rejection
            self._response.body = (self._response.body + data)[:_MAX_ERROR_BODY]
            if len(self._response.body) >= self._expected_body():
                self._finish_handshake(b"")
            return
        assert self._reader is not None
        parsed = self._reader.feed(data)
        if parsed is None:
            return
        response, rest = parsed
        self._reader = None
        self._response = response
        if response.status != 101:
            response.body = rest[:_MAX_ERROR_BODY]
            if len(response.body) < self._expected_body():
                return  # wait for more of the body (or the end of the connection)
        self._finish_handshake(rest)

    def _expected_body(self) -> int:
        assert self._response is not None
        length = self._response.headers.get("content-length", "0")
        return min(int(length), _MAX_ERROR_BODY) if length.isdigit() else 0

    def _finish_handshake(self, rest: bytes) -> None:
        response = self._response
        assert response is not None and self._transport is not None
        config = self.config
        if self._handshake.done():
            return
        try:
            self.subprotocol, extensions = validate_response(
                response, self._key, config.protocols, config.deflate is not None
            )
            deflate = (
                _deflate.accept(extensions, config.deflate)
                if extensions and config.deflate
                else None
            )
        except WebSocketError as exc:
            self._handshake.set_exception(exc)
            self._transport.abort()
            return
        self.response_headers = response.headers
        self._protocol = WebSocketProtocol(
            self._transport.write,
            max_message_size=config.max_message_size,
            deflate=deflate,
            on_message=self._enqueue,
            on_pong=self._on_pong,
            on_close=self._on_close_frame,
        )
        self._transport.set_write_buffer_limits(high=config.write_limit)
        self._handshake.set_result(None)
        if rest:
            self.data_received(rest)

    # ---- asyncio.Protocol callbacks -------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.last_received = monotonic()
        protocol = self._protocol
        if protocol is None:
            try:
                self._handshake_data(data)
            except WebSocketError as exc:
                if not self._handshake.done():
                    self._handshake.set_exception(exc)
                self.abort()
            return
        try:
            protocol.receive_data(data)
        except ProtocolError as exc:
            self.close_error = exc
            self.close_code, self.close_reason = exc.close_code, ""  # what we sent
            self._state = _CLOSING
            self._wake_reader()
            self._start_close_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._handshake.done():
            if self._response is not None:  # a rejection whose body ended with the connection
                self._finish_handshake(b"")
            if not self._handshake.done():
                self._handshake.set_exception(
                    ConnectionFailed(
                        "server closed the connection during the opening handshake"
                        + (f": {exc}" if exc else "")
                    )
                )
        self._state = _CLOSED
        if self._close_timer is not None:
            self._close_timer.cancel()
        if self.close_code is None:
            self.close_code, self.close_reason = 1006, ""
        frame = CloseFrame(self.close_code, self.close_reason or "")
        for future, _ in self._pings.values():
            if not future.done():
                future.set_exception(self._closed_error())
        self._pings.clear()
        self._wake_reader()
        self._wake_writers()
        if not self._closed.done():
            self._closed.set_result(frame)

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        self._wake_writers()

    # ---- receiving ------------------------------------------------------------------
    def _enqueue(self, message: Message) -> None:
        self._queue.append(message)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        if len(self._queue) >= self.config.max_queue and not self._reading_paused:
            self._reading_paused = True
            assert self._transport is not None
            self._transport.pause_reading()

    async def recv(self) -> Message:
        """The next message: ``str`` for text, ``bytes`` for binary.

        Raises :class:`ConnectionClosed` (or the protocol error that ended the connection)
        once the connection is closed and every buffered message was read.
        """
        queue = self._queue
        if not queue:
            if self._state != _OPEN and (
                self._state == _CLOSED
                or self.close_error is not None
                or (self._protocol is not None and self._protocol.close_received is not None)
            ):
                raise self._closed_error()
            if self._waiter is not None:
                raise RuntimeError("recv() is already waiting in another task; read from one task")
            self._waiter = self._loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
            if not queue:
                raise self._closed_error()
        message = queue.popleft()
        if self._reading_paused and len(queue) <= self.config.max_queue >> 2:
            self._reading_paused = False
            if self._transport is not None and self._state != _CLOSED:
                self._transport.resume_reading()
        return message

    def __aiter__(self) -> Connection:
        return self

    async def __anext__(self) -> Message:
        try:
            return await self.recv()
        except ConnectionClosed as exc:
            if exc.code in (1000, 1001):
                raise StopAsyncIteration from None
            raise

    def set_message_handler(self, handler: MessageHandler | None) -> None:
        """Deliver each message to ``handler(message)`` straight from the parser (None:
        back to the ``recv()`` queue). Messages already queued go to the handler first."""
        if self._protocol is None:
            raise RuntimeError("set_message_handler() needs an open connection")
        if handler is None:
            self._protocol.on_message = self._enqueue
            return
        while self._queue:
            handler(self._queue.popleft())
        self._protocol.on_message = handler
        if self._reading_paused and self._transport is not None:
            self._reading_paused = False
            self._transport.resume_reading()

    def _wake_reader(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    # ---- sending --------------------------------------------------------------------
    async def send(self, message: Data) -> None:
        """Send ``str`` as a text message, ``bytes``-like as binary; waits while the
        transport's write buffer is above ``write_limit``."""
        if self._state != _OPEN or self._protocol is None:
            raise self._closed_error()
        if type(message) is str:
            self._protocol.send_text(message)
        elif isinstance(message, (bytes, bytearray, memoryview)):
            self._protocol.send_binary(message)
        else:
            raise TypeError(
                f"send() takes str (text) or bytes-like (binary), not {type(message).__name__}; "
                "serialize it first, e.g. json.dumps(obj)"
            )
        if self._write_paused:
            waiter = self._loop.create_future()
            self._drain_waiters.append(waiter)
            await waiter
            if self._state == _CLOSED:
                raise self._closed_error()

    def _wake_writers(self) -> None:
        waiters, self._drain_waiters = self._drain_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def ping(self, data: bytes | None = None) -> float:
        """Send a ping and return the round-trip time in seconds when its pong arrives."""
        if self._state != _OPEN or self._protocol is None:
            raise self._closed_error()
        if data is None:
            self._ping_counter += 1
            data = self._ping_counter.to_bytes(8, "big")
        if data in self._pings:
            raise ValueError("a ping with this payload is already waiting for its pong")
        future: asyncio.Future[float] = self._loop.create_future()
        self._pings[data] = (future, monotonic())
        self._protocol.send_ping(data)
        return await future

    def _on_pong(self, payload: bytes) -> None:
        if payload not in self._pings:
            return
        now = monotonic()
        # a pong answers its ping and every ping sent before it (RFC 6455 5.5.3)
        for key in list(self._pings):
            future, sent = self._pings.pop(key)
            if not future.done():
                future.set_result(now - sent)
            if key == payload:
                break

    # ---- closing --------------------------------------------------------------------
    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection with ``code`` and ``reason`` and wait for the handshake
        (at most ``close_timeout``). Safe to call more than once."""
        if self._state == _OPEN and self._protocol is not None:
            self._protocol.send_close(code, reason)
            self._state = _CLOSING
            self._start_close_timer()
        await asyncio.shield(self._closed)

    async def wait_closed(self) -> CloseFrame:
        """Wait until the connection has ended, for any reason; return how it ended."""
        return await asyncio.shield(self._closed)

    def abort(self) -> None:
        """Drop the connection at once, without a close handshake (close code 1006)."""
        if self._transport is not None and self._state != _CLOSED:
            self._transport.abort()

    def _on_close_frame(self, frame: CloseFrame) -> None:
        self.close_code, self.close_reason = frame.code, frame.reason
        self._state = _CLOSING
        self._wake_reader()
        self._start_close_timer()

    def _start_close_timer(self) -> None:
        # the server closes TCP after the close handshake; don't wait for it forever
        if self._close_timer is None and self._state != _CLOSED:
            self._close_timer = self._loop.call_later(
                as_seconds(self.config.close_timeout), self.abort
            )

    def _closed_error(self) -> WebSocketError:
        if self.close_error is not None:
            return self.close_error
        frame = self._protocol.close_received if self._protocol else None
        if frame is None and self._state == _CLOSED:
            frame = CloseFrame(1006, "")
        if frame is None:
            sent = self._protocol.close_sent if self._protocol else None
            return ConnectionClosed(
                sent.code if sent else 1006,
                sent.reason if sent else "",
                detail="close() was called",
            )
        return ConnectionClosed(frame.code, frame.reason)

    @property
    def closed(self) -> bool:
        """True once the connection has fully ended."""
        return self._state == _CLOSED

    def __repr__(self) -> str:
        state = {_OPEN: "open", _CLOSING: "closing", _CLOSED: "closed"}[self._state]
        return f"<omniws.Connection {self.config.url} {state}>"

    async def __aenter__(self) -> Connection:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close()
