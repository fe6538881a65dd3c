"""The supervisor behind :class:`~omniws.WebSocketClient`: the state machine, the reconnect
loop and close(). Platform-neutral: connections come from an injectable opener and are used
only through the hooks of docs/INTERNALS.md; waiting for a usable connection lives in
_waiting.py, inbound routing and the heartbeat in _inbound.py.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import random
import sys
from typing import cast

from ._events import Connection, Dispatcher, EventHandlers, HandlerError, OpenConnection, stop_task
from ._inbound import Inbox, heartbeat
from ._waiting import OPENING, Waiting
from .backoff import (
    NORMAL_CLOSE_CODES,
    Backoff,
    RetryCause,
    RetryHook,
    as_error,
    as_websocket_error,
    is_retryable,
    retry_after_of,
    should_retry,
)
from .config import Duration, ReconnectConfig, WebSocketConfig
from .errors import ConfigError, ConnectionClosed, WebSocketError, WebSocketTimeout
from .messages import CloseFrame
from .state import (
    Closing,
    Connected,
    Connecting,
    ConnectionState,
    Disconnected,
    Failed,
    Reconnecting,
)

logger = logging.getLogger("omniws.client")


def _default_opener() -> OpenConnection:
    name = ".wasm" if sys.platform == "emscripten" else ".native"
    return cast(OpenConnection, importlib.import_module(name, __package__).open_connection)


class Supervisor(Waiting):
    """The internals of a WebSocketClient (see :class:`omniws.WebSocketClient`)."""

    def __init__(
        self,
        config: WebSocketConfig | str,
        handlers: EventHandlers | None,
        should_retry: RetryHook | None,
        open_connection: OpenConnection | None,
        rng: random.Random | None,
    ) -> None:
        if isinstance(config, str):
            config = WebSocketConfig(url=config)
        elif not isinstance(config, WebSocketConfig):
            raise TypeError(f"config must be a WebSocketConfig or a URL, got {config!r}")
        super().__init__()
        self.config = config
        self._events = Dispatcher(handlers)
        self._retry_hook = should_retry
        self._opener = open_connection
        self._backoff = Backoff(config.reconnect or ReconnectConfig(), rng)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._dispatcher_task: asyncio.Task[None] | None = None
        self._close_waiter: asyncio.Future[None] | None = None
        self._closing = False  # close() was called: nothing is retried
        self._inbox = Inbox(config.max_queue, self._events, self._notify)
        self._opened_at: float | None = None
        self._run_connections = 0
        self._messages_out = self._bytes_out = 0
        self._connections = self._reconnects = 0
        self._connected_time = 0.0
        self._last_rtt: float | None = None

    # --- events ----------------------------------------------------------------------------
    def _set_state(self, state: ConnectionState) -> None:
        self._state = state
        self._notify()
        logger.debug("%s: %s", self.config.url, state)
        self._events.emit("on_state_change", state)

    async def _dispatch_messages(self) -> None:
        """The one task that runs async on_message handlers, in order."""
        while True:
            try:
                message = await self._inbox.next(self._raise_if_drained, self._change)
            except WebSocketError:
                return
            await self._events.call("on_message", message)

    # --- supervisor ---------------------------------------------------------------------------
    def _start(self) -> None:
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._closing = False
        self._end_frame = None
        self._run_connections = 0
        self._backoff.reset()
        old = self._dispatcher_task
        if self._events.has_async("on_message") and (old is None or old.done()):
            self._dispatcher_task = loop.create_task(self._dispatch_messages())
        self._set_state(Connecting(0))
        self._supervisor = loop.create_task(self._supervise(), name=f"omniws {self.config.url}")

    async def _supervise(self) -> None:
        try:
            while True:
                cause = await self._attempt()
                if self._closing or not await self._retry_after(cause):
                    return
        finally:
            self._inbox.wake()

    async def _attempt(self) -> RetryCause:
        opener = self._opener or _default_opener()
        timeout = _secs(self.config.connect_timeout)
        try:
            if timeout is None:
                conn = await opener(self.config)
            else:
                conn = await asyncio.wait_for(opener(self.config), timeout)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if isinstance(exc, asyncio.TimeoutError) and not isinstance(exc, WebSocketError):
                hint = "the server did not complete the opening handshake in time"
                error: WebSocketError = WebSocketTimeout("connect", cast(float, timeout), hint=hint)
            else:
                error = as_websocket_error(exc)
            if not self._closing:
                self._events.report(error)
            return error
        if self._closing:  # close() won a race that wait_for() hid: the result was kept
            conn.abort()
            raise asyncio.CancelledError
        return await self._run_connection(conn)

    async def _run_connection(self, conn: Connection) -> RetryCause:
        loop = asyncio.get_running_loop()
        self._conn, self._ready = conn, False
        self._connections += 1
        self._run_connections += 1
        if self._run_connections > 1:
            self._reconnects += 1
        self._opened_at = opened = loop.time()
        self._inbox.attach(conn)
        watch = None
        if self.config.heartbeat_interval is not None:
            interval = cast(float, self.config.heartbeat_interval)
            timeout = cast(float, self.config.heartbeat_timeout)
            beat = heartbeat(
                conn,
                interval,
                timeout,
                self._inbox.behind,
                self._set_rtt,
                self.config.heartbeat_message,
            )
            watch = loop.create_task(beat)
        try:
            self._set_state(Connected())
            token = OPENING.set(conn)
            try:
                await self._events.call("on_open")
            finally:
                OPENING.reset(token)
            if not self._closing:
                self._opened += 1
                self._ready = conn.close_code is None
                self._notify()
            frame = await conn.wait_closed()
        finally:
            if conn.close_code is None:  # cancelled by close(): leave nothing open
                conn.abort()
            self._conn, self._ready, self._opened_at = None, False, None
            uptime = loop.time() - opened
            self._connected_time += uptime
            self._inbox.detach(conn)
            self._notify()
            dead = None
            if watch is not None:
                await stop_task(watch)
                dead = None if watch.cancelled() or not watch.done() else watch.result()
        self._backoff.connection_ended(uptime)
        self._end_frame = frame
        self._events.emit("on_close", frame)
        cause: RetryCause = dead or conn.close_error or frame
        if isinstance(cause, WebSocketError) and not self._closing:
            self._events.report(cause)
        return cause

    def _set_rtt(self, rtt: float) -> None:
        self._last_rtt = rtt

    def _safe_hook(self, cause: RetryCause) -> bool | None:
        hook = cast(RetryHook, self._retry_hook)
        try:
            return hook(cause)
        except Exception as exc:
            self._events.report(HandlerError("should_retry", hook, exc))
            return None

    async def _retry_after(self, cause: RetryCause) -> bool:
        """Decide about ``cause``: wait out the backoff and return True, or set the final
        state and return False."""
        hook = self._safe_hook if self._retry_hook is not None else None
        if not should_retry(cause, self.config.reconnect, hook=hook):
            code = cause.code if isinstance(cause, CloseFrame | ConnectionClosed) else None
            if code in NORMAL_CLOSE_CODES:
                self._set_state(Disconnected())
            else:
                recoverable = not isinstance(cause, ConfigError) and is_retryable(cause)
                self._set_state(Failed(as_error(cause), recoverable))
            return False
        if self._backoff.exhausted:
            self._set_state(Failed(as_error(cause), True))
            return False
        delay = self._backoff.next_delay(retry_after_of(cause))
        attempt = self._backoff.attempt
        now = asyncio.get_running_loop().time()
        self._set_state(Reconnecting(attempt, now + delay, delay, cause))
        await asyncio.sleep(delay)
        self._set_state(Connecting(attempt))
        return True

    async def _close(self, code: int, reason: str) -> None:
        self._closing = True
        current = asyncio.current_task()
        supervisor, dispatcher = self._supervisor, self._dispatcher_task
        running = supervisor is not None and not supervisor.done()
        if running and not isinstance(self._state, Failed):
            self._set_state(Closing())
        conn = self._conn
        if conn is not None and conn.close_code is None:
            try:
                await asyncio.wait_for(conn.close(code, reason), _secs(self.config.close_timeout))
            except Exception as exc:
                logger.debug("%s: close failed (%r), aborting", self.config.url, exc)
                conn.abort()
        # let the supervisor see the end of the connection, and the dispatcher hand what
        # arrived before it to the handlers: briefly, within one more close_timeout
        grace = [t for t in (supervisor, dispatcher) if t is not None and t is not current]
        if grace and conn is not None:
            await asyncio.wait(grace, timeout=_secs(self.config.close_timeout))
        for task in grace:
            await stop_task(task)
        if dispatcher is not None and dispatcher is not current:
            self._dispatcher_task = None
        if not isinstance(self._state, Failed | Disconnected):
            if self._end_frame is None:
                self._end_frame = CloseFrame(code, reason)
            self._set_state(Disconnected())
        await self._events.drain(cast(float, _secs(self.config.close_timeout)))


def _secs(value: Duration | None) -> float | None:
    """A duration field of a validated config: float seconds (or None)."""
    return cast("float | None", value)
