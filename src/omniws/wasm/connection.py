"""The Pyodide Connection on the platform's ``WebSocket`` (see the package docstring)."""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Callable
from typing import Any, cast

from .._connection_base import CLOSED, CLOSING, CONNECTING, OPEN, ConnectionBase
from .._runtime import AsyncioRuntime, Signal
from ..config import WebSocketConfig
from ..errors import (
    ConfigError,
    ConnectionFailed,
    MessageTooLarge,
    WebApiError,
    WebSocketTimeout,
)
from ..messages import CloseFrame, Data, Message
from .checks import FAILED_HINT, check_close, check_config
from .waiter import Waiter

__all__ = ["Connection", "open_connection"]

logger = logging.getLogger("omniws.wasm")
_EVENTS = ("open", "message", "error", "close")
_MAX_POLL = 0.05  # longest sleep between two bufferedAmount checks, in seconds
MessageHandler = Callable[[Message], object]

try:  # present only under Pyodide; typed as Any so that mypy --strict passes on CPython
    _js: Any = importlib.import_module("js")
    _ffi: Any = importlib.import_module("pyodide.ffi")
except ImportError:  # CPython: the module still imports (check_config, check_close work)
    _js = _ffi = None


async def open_connection(config: WebSocketConfig) -> Connection:
    """Open a connection with the platform's ``WebSocket``, within ``connect_timeout``."""
    check_config(config)
    if _js is None:
        raise WebApiError("omniws.wasm needs Pyodide (sys.platform == 'emscripten')")
    conn = Connection(config, asyncio.get_running_loop())
    try:
        await asyncio.wait_for(asyncio.shield(conn._opened), config.connect_timeout)
    except asyncio.TimeoutError:
        conn._fail_open()
        raise WebSocketTimeout(
            "connect",
            config.connect_timeout or 0.0,
            hint=f"no complete handshake from {config.url}; is the server up and is this a "
            "WebSocket endpoint? Raise connect_timeout for slow networks",
        ) from None
    except BaseException:
        conn._fail_open()
        raise
    return conn


class Connection(ConnectionBase):
    """An open WebSocket connection under Pyodide. Get one from :func:`omniws.connect`.

    Scripts may close only with 1000 or 3000-4999 (``close()`` raises ValueError otherwise).
    """

    _name = "omniws.wasm.Connection"
    _browser = True

    def __init__(self, config: WebSocketConfig, loop: asyncio.AbstractEventLoop) -> None:
        self._init_base(config, AsyncioRuntime(loop), CONNECTING)
        self._loop = loop
        self._opened: asyncio.Future[None] = loop.create_future()
        self._handler: MessageHandler | None = None
        self._error_detail = ""
        self.subprotocol: str | None = None
        self.response_headers: dict[str, str] = {}  # the browser does not show them
        try:
            if config.protocols:
                ws = _js.WebSocket.new(config.url, _ffi.to_js(list(config.protocols)))
            else:
                ws = _js.WebSocket.new(config.url)
        except _ffi.JsException as exc:
            raise ConfigError("url", f"the WebSocket API refused {config.url!r}: {exc}") from None
        ws.binaryType = "arraybuffer"
        self._ws: Any = ws
        self._ws_send: Any = ws.send  # looked up once: each lookup makes a new JsProxy
        self._proxies: dict[str, Any] = {}
        for name in _EVENTS:
            callback = getattr(self, f"_on_{name}")
            proxy = _ffi.create_proxy(callback if name == "message" else self._guard(callback))
            self._proxies[name] = proxy
            setattr(ws, f"on{name}", proxy)

    # ---- JavaScript callbacks (guarded: nothing may escape into JavaScript) -------------
    def _guard(self, callback: Callable[[Any], None]) -> Callable[[Any], None]:
        def guarded(event: Any) -> None:
            try:
                callback(event)
            except BaseException as exc:  # an escaping exception would kill Node
                self._internal_error(exc)

        return guarded

    def _internal_error(self, exc: BaseException) -> None:
        try:
            self._fail_internally(exc)
        except BaseException:  # pragma: no cover - last resort, keep JS alive
            logger.exception("omniws.wasm: error while handling a callback error")

    def _fail_internally(self, exc: BaseException) -> None:
        logger.error("omniws.wasm: %s callback failed", self.config.url, exc_info=exc)
        error = WebApiError(f"internal error in a WebSocket callback: {exc!r}")
        error.__cause__ = exc
        if not self._opened.done():
            self._opened.set_exception(error)
        if self.close_error is None:
            self.close_error = error
        self.abort()

    def _on_open(self, _event: Any) -> None:
        if self._state != CONNECTING:
            return
        self._state = OPEN
        self.last_received = self._loop.time()
        self.subprotocol = str(self._ws.protocol) or None
        if not self._opened.done():
            self._opened.set_result(None)

    def _on_message(self, event: Any) -> None:
        try:  # the hot path: guarded here rather than by _guard (one call less per message)
            self._message(event.data)
        except BaseException as exc:  # an escaping exception would kill Node
            self._internal_error(exc)

    def _message(self, data: Any) -> None:
        if self._input_ended:
            return  # after an abort or a failure: ignore the rest
        self.last_received = self._loop.time()
        limit = self.config.max_message_size
        message: Message
        if isinstance(data, str):
            message = data
            size = len(data) if limit is None or 4 * len(data) <= limit else len(data.encode())
        else:
            size = int(data.byteLength)
            message = b"" if limit is not None and size > limit else data.to_bytes()
        if limit is not None and size > limit:
            self._too_large(size, limit)
            return
        handler = self._handler
        if handler is not None:
            handler(message)
            return
        self._queue.append(message)  # the wasm queue has no limit: nothing else to check
        waiter = self._waiter
        if waiter is not None:
            cast(Waiter, waiter).wake()  # the reader runs now, not a macrotask later

    def _new_waiter(self) -> Signal:
        """A :class:`Waiter`: a message wakes it without a macrotask. One reader at a time."""
        if self._waiter is not None:
            return super()._new_waiter()  # raises: another task is waiting
        self._waiter = waiter = Waiter(self._loop)
        return waiter

    def _too_large(self, size: int, limit: int) -> None:
        self.close_error = MessageTooLarge(size, limit)
        self.close_code, self.close_reason = 1009, ""
        try:
            self._ws.close(1009, "message too big")
        except _ffi.JsException:  # browsers refuse 1009 from scripts: nearest allowed
            self._ws.close(4009, "message too big")
        self._end_input()

    def _on_error(self, event: Any) -> None:
        message = getattr(event, "message", None)  # npm ws says why; browsers never do
        if message:
            self._error_detail = str(message)

    def _on_close(self, event: Any) -> None:
        code, reason = int(event.code), str(event.reason)
        was_connecting = self._state == CONNECTING
        if not self._opened.done():
            detail = f" (the platform says: {self._error_detail})" if self._error_detail else ""
            self._opened.set_exception(
                ConnectionFailed(
                    f"could not connect to {self.config.url}{detail}: {FAILED_HINT}",
                    recoverable=True,
                )
            )
        if self.close_code is None and not was_connecting:
            self.close_code, self.close_reason = code, reason
        self._finish()
        self._release()

    # ---- receiving ------------------------------------------------------------------
    def set_message_handler(self, handler: MessageHandler | None) -> None:
        """Deliver each message to ``handler(message)`` as it arrives (None: back to the
        ``recv()`` queue). Messages already queued go to the handler first."""
        if handler is not None:
            while self._queue:
                handler(self._queue.popleft())
        self._handler = handler

    async def send(self, message: Data) -> None:
        """Send ``str`` as a text message, ``bytes``-like as binary; waits (polling
        ``bufferedAmount``) while more than ``write_limit`` bytes are buffered."""
        self.send_nowait(message)
        if self._ws.bufferedAmount > self.config.write_limit:
            await self._drain()

    def send_nowait(self, message: Data) -> None:
        """Send at once, from code that cannot await; never waits for ``bufferedAmount``."""
        if self._state != OPEN:
            raise self._closed_error()
        if type(message) is str:
            self._ws_send(message)
        elif isinstance(message, (bytes, bytearray, memoryview)):
            self._ws_send(_ffi.to_js(bytes(message)))  # a Uint8Array: binary, never text
        else:
            raise TypeError(
                f"send() takes str (text) or bytes-like (binary), not {type(message).__name__}; "
                "serialize it first, e.g. json.dumps(obj)"
            )

    @property
    def write_paused(self) -> bool:
        """True while more than ``write_limit`` bytes wait in ``bufferedAmount``."""
        return self._state == OPEN and self._ws.bufferedAmount > self.config.write_limit

    async def _drain(self) -> None:
        limit, delay = self.config.write_limit, 0.001
        timeout = self.config.send_timeout
        deadline = None if timeout is None else self._loop.time() + timeout
        while self._state == OPEN and self._ws.bufferedAmount > limit:
            if deadline is not None and self._loop.time() >= deadline:
                raise WebSocketTimeout(
                    "send",
                    timeout or 0.0,
                    hint="the send buffer stayed above write_limit: the network or the server "
                    "is slower than the sender",
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, _MAX_POLL)
        if self._state == CLOSED:
            raise self._closed_error()

    async def ping(self, data: bytes | None = None) -> float:
        """Not supported: scripts in browsers can neither send pings nor see pongs."""
        raise WebApiError(
            "ping() is not supported in browsers: the WebSocket API cannot send pings or see "
            "pongs. WebSocketClient's heartbeat sends config.heartbeat_message instead",
            recoverable=False,
        )

    # ---- closing --------------------------------------------------------------------
    def close_nowait(self, code: int = 1000, reason: str = "") -> None:
        """Start the close handshake at once, from code that cannot await (a page event
        listener: the page may be frozen before a task runs); ``wait_closed()`` tells the end."""
        check_close(code, reason)
        if self._state <= OPEN:
            self._send_close(code, reason)
            self._sent_close = CloseFrame(code, reason)
            self._state = CLOSING
            self._start_close_timer()

    def _send_close(self, code: int, reason: str) -> None:
        self._ws.close(code, reason)

    def abort(self) -> None:
        """End the connection at once (close code 1006). The API has no abort: the socket
        is closed in the background and its callbacks are released after its close event."""
        if self._state == CLOSED:
            return
        if self._state <= OPEN:
            self._ws.close()
        self._finish()

    def _fail_open(self) -> None:
        """An open that timed out or was cancelled: close the socket, end everything."""
        if self._state == CONNECTING:
            self._ws.close()
        if not self._opened.done():
            self._opened.cancel()  # the close event that follows reports nothing more
        elif not self._opened.cancelled():
            self._opened.exception()  # retrieved: no "never retrieved" warning
        self._finish()

    def _release(self) -> None:
        """After the close event: detach and destroy the proxies (JS will not call again)."""
        for name, proxy in self._proxies.items():
            setattr(self._ws, f"on{name}", None)
            proxy.destroy()
        self._proxies.clear()

    @property
    def reading_paused(self) -> bool:
        """Always False: the WebSocket API has no flow control on receive."""
        return False
