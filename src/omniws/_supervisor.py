"""The supervisor behind :class:`~omniws.WebSocketClient`: the state machine, the reconnect
loop, waiting for a usable connection, and close(). Platform-neutral: connections come from an
injectable opener and are used only through the hooks of docs/INTERNALS.md; inbound routing
and the heartbeat live in _inbound.py.
"""

from __future__ import annotations

import asyncio
import contextvars
import importlib
import logging
import random
import sys
from typing import cast

from ._events import (
    Connection,
    Dispatcher,
    EventHandlers,
    HandlerError,
    OpenConnection,
)
from ._inbound import Inbox, heartbeat
from .backoff import (
    NORMAL_CLOSE_CODES,
    Backoff,
    RetryCause,
    RetryHook,
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
# Set while on_open handlers run, so that their sends go out before the queued ones.
OPENING: contextvars.ContextVar[object] = contextvars.ContextVar("omniws_opening", default=None)


def _default_opener() -> OpenConnection:
    name = ".wasm" if sys.platform == "emscripten" else ".native"
    return cast(OpenConnection, importlib.import_module(name, __package__).open_connection)


class Supervisor:
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
        self.config = config
        self._events = Dispatcher(handlers)
        self._retry_hook = should_retry
        self._opener = open_connection
        self._backoff = Backoff(config.reconnect or ReconnectConfig(), rng)
        self._state: ConnectionState = Disconnected()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._dispatcher_task: asyncio.Task[None] | None = None
        self._close_waiter: asyncio.Future[None] | None = None
        self._changed: asyncio.Future[None] | None = None
        self._conn: Connection | None = None
        self._ready = False  # on_open has run on self._conn: queued sends may go
        self._closing = False  # close() was called: nothing is retried
        self._end_frame: CloseFrame | None = None
        self._inbox = Inbox(config.max_queue, self._events, self._notify)
        self._opened_at: float | None = None
        self._run_connections = 0
        self._messages_out = self._bytes_out = 0
        self._connections = self._reconnects = 0
        self._connected_time = 0.0
        self._last_rtt: float | None = None

    # --- waiting ----------------------------------------------------------------------------
    def _notify(self) -> None:
        fut = self._changed
        if fut is not None:
            self._changed = None
            if not fut.done():
                fut.set_result(None)

    def _change(self) -> asyncio.Future[None]:
        if self._changed is None:
            self._changed = asyncio.get_running_loop().create_future()
        return self._changed

    def _set_state(self, state: ConnectionState) -> None:
        self._state = state
        self._notify()
        logger.debug("%s: %s", self.config.url, state)
        self._events.emit("on_state_change", state)

    def _raise_if_stopped(self) -> None:
        state = self._state
        if isinstance(state, Failed):
            raise state.error
        if isinstance(state, Disconnected | Closing):
            frame = self._end_frame or CloseFrame(1000)
            started = self._supervisor is not None
            detail = "the client is closed" if started else "call connect() first"
            raise ConnectionClosed(frame.code, frame.reason, detail=detail)

    async def _wait_ready(self, timeout: float | None, operation: str) -> Connection:
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            conn = self._conn
            if (
                conn is not None
                and conn.close_code is None
                and (self._ready or OPENING.get() is conn)
            ):
                return conn
            self._raise_if_stopped()
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                hint = "the client is still (re)connecting"
                raise WebSocketTimeout(operation, cast(float, timeout), hint=hint)
            await asyncio.wait({self._change()}, timeout=remaining)

    async def _dispatch_messages(self) -> None:
        """The one task that runs async on_message handlers, in order."""
        while True:
            try:
                message = await self._inbox.next(self._raise_if_stopped, self._change)
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
            beat = heartbeat(conn, interval, timeout, self._inbox.behind, self._set_rtt)
            watch = loop.create_task(beat)
        try:
            self._set_state(Connected())
            token = OPENING.set(conn)
            try:
                await self._events.call("on_open")
            finally:
                OPENING.reset(token)
            if conn.close_code is None and not self._closing:
                self._ready = True
                self._notify()
            frame = await conn.wait_closed()
        finally:
            if conn.close_code is None:  # cancelled by close(): leave nothing open
                conn.abort()
            self._conn, self._ready, self._opened_at = None, False, None
            uptime = loop.time() - opened
            self._connected_time += uptime
            dead = None
            if watch is not None:
                if not watch.done():
                    watch.cancel()
                await asyncio.wait({watch})
                dead = None if watch.cancelled() else watch.result()
            self._inbox.detach(conn)
            self._notify()
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
                self._set_state(Failed(_as_error(cause), recoverable))
            return False
        if self._backoff.exhausted:
            self._set_state(Failed(_as_error(cause), True))
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
        if supervisor is not None and running and supervisor is not current:
            if conn is not None:  # let it see the end of the connection, briefly
                await asyncio.wait({supervisor}, timeout=_secs(self.config.close_timeout))
            supervisor.cancel()
            await asyncio.wait({supervisor})
        if dispatcher is not None and dispatcher is not current:
            dispatcher.cancel()
            await asyncio.wait({dispatcher})
            self._dispatcher_task = None
        if not isinstance(self._state, Failed | Disconnected):
            if self._end_frame is None:
                self._end_frame = CloseFrame(code, reason)
            self._set_state(Disconnected())
        await self._events.drain(cast(float, _secs(self.config.close_timeout)))


def _secs(value: Duration | None) -> float | None:
    """A duration field of a validated config: float seconds (or None)."""
    return cast("float | None", value)


def _as_error(cause: RetryCause) -> WebSocketError:
    if isinstance(cause, CloseFrame):
        return ConnectionClosed(cause.code, cause.reason)
    return cause
