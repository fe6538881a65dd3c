"""The supervisor loop of a client: open a connection, watch it, decide about retrying, wait
out the backoff, and stop everything on ``close()``.

Platform-neutral: connections come from the opener it is given and are used only through
:class:`~omniws.client.contract.Connection`. It talks to the other parts of the client
(lifecycle, link, inbox, events, counters) through their public methods.
"""

from __future__ import annotations

import logging
import math
import random
from typing import NamedTuple

from .. import _platform, _runtime
from .._runtime import TIMEOUT_ERRORS, Runtime, TaskHandle
from ..closecodes import ends_normally
from ..config import ReconnectConfig, WebSocketConfig
from ..errors import ConfigError, ConnectionClosed, HandlerError, WebSocketError, WebSocketTimeout
from ..messages import CloseFrame
from ..state import Closing, Connected, Connecting, Disconnected, Failed, Reconnecting
from .contract import Connection, OpenConnection
from .environment import PAGEHIDE_CLOSE, Environment, PageEvent, PageWatch, end_connection
from .events import Dispatcher, stop_task
from .heartbeat import heartbeat
from .inbox import Inbox
from .lifecycle import Lifecycle
from .link import Link
from .retry import (
    Backoff,
    RetryCause,
    RetryHook,
    as_error,
    as_websocket_error,
    is_retryable,
    retry_after_of,
    should_retry,
)
from .stats import Counters

__all__ = ["Parts", "Supervisor"]

logger = logging.getLogger("omniws.client")


class Parts(NamedTuple):
    """The collaborators a supervisor drives."""

    lifecycle: Lifecycle
    link: Link
    inbox: Inbox
    events: Dispatcher
    counters: Counters


class Supervisor:
    """Runs the connect / watch / retry loop of one client on one task."""

    def __init__(
        self,
        config: WebSocketConfig,
        parts: Parts,
        opener: OpenConnection,
        retry_hook: RetryHook | None,
        rng: random.Random | None,
        *,
        opener_times_out: bool = False,
    ) -> None:
        self.config = config
        # the platform's opener applies connect_timeout itself and names the stage that
        # stalled; an injected one is bounded here
        self._timeout = None if opener_times_out else config.connect_timeout
        self._lifecycle, self._link, self._inbox, self._events, self._counters = parts
        self._opener = opener
        self._retry_hook = retry_hook
        self._backoff = Backoff(config.reconnect or ReconnectConfig(), rng)
        self._task: TaskHandle[None] | None = None
        self._dispatcher: TaskHandle[None] | None = None
        self._closing = False  # close() was called: nothing is retried
        self._runtime: Runtime | None = None  # the library start() was called under
        self._opened_at: float | None = None
        self._run_connections = 0
        self._page = PageWatch(self._page_event)
        self._ended_by: CloseFrame | None = None  # offline or pagehide closed the connection

    @property
    def running(self) -> bool:
        """The loop is running (connecting, connected or waiting to retry)."""
        return self._task is not None and not self._task.done()

    def uptime(self) -> float:
        """How long the current connection has been open (0 while not connected)."""
        if self._opened_at is None or self._runtime is None:
            return 0.0
        return self._runtime.time() - self._opened_at

    def start(self, environment: Environment | None = None) -> None:
        """Start connecting (the state becomes ``Connecting(0)``), following the page's
        events (``environment``, by default the platform's) unless ``browser_lifecycle`` is
        off."""
        self._runtime = runtime = _runtime.current()
        if self.config.browser_lifecycle:
            self._page.start(environment or _platform.page_environment())
        self._closing = False
        self._lifecycle.end_frame = None
        self._run_connections = 0
        self._backoff.reset()
        old = self._dispatcher
        if self._events.has_async("on_message") and (old is None or old.done()):
            self._dispatcher = runtime.spawn(self._dispatch_messages(), "omniws on_message")
        self._lifecycle.move(Connecting(0))
        self._task = runtime.spawn(self._supervise(), f"omniws {self.config.url}")

    async def _dispatch_messages(self) -> None:
        """The one task that runs async on_message handlers, in order."""
        inbox, link, lifecycle = self._inbox, self._link, self._lifecycle
        while True:
            try:
                message = await inbox.next(link.raise_if_drained, lifecycle.changed)
            except WebSocketError:
                return
            await self._events.call("on_message", message)

    async def _supervise(self) -> None:
        try:
            while True:
                cause = await self._attempt()
                if cause is None or self._closing or not await self._retry_after(cause):
                    return
        finally:
            if not self._closing:
                self._page.stop()  # Failed or Disconnected: nothing more to follow
            self._lifecycle.notify()

    def _page_event(self, event: PageEvent) -> None:
        """From the page's listeners, synchronously (the page may freeze next)."""
        if event in ("online", "pageshow"):
            self._backoff.reset()
        elif event in ("offline", "pagehide") and not self._closing:
            self._ended_by = end_connection(self._link.current, event) or self._ended_by

    async def _attempt(self) -> RetryCause | None:
        """One connection: opened, run until it ends; None when close() stopped it."""
        timeout = self._timeout
        try:
            if timeout is None:
                conn = await self._opener(self.config)
            else:
                conn = await _runtime.current().timeout(self._opener(self.config), timeout)
        except Exception as exc:
            if isinstance(exc, TIMEOUT_ERRORS) and not isinstance(exc, WebSocketError):
                hint = "the server did not complete the opening handshake in time"
                error: WebSocketError = WebSocketTimeout("connect", timeout or 0.0, hint=hint)
            else:
                error = as_websocket_error(exc)
            if not self._closing:
                self._events.report(error)
            return error
        if self._closing:  # close() won a race that wait_for() hid: the result was kept
            conn.abort()
            return None
        if self._page.away:  # the page left while connecting
            return end_connection(conn, "pagehide") or PAGEHIDE_CLOSE
        return await self._run_connection(conn)

    async def _run_connection(self, conn: Connection) -> RetryCause:
        runtime = _runtime.current()
        counters, link = self._counters, self._link
        link.attach(conn)
        counters.connections += 1
        self._run_connections += 1
        if self._run_connections > 1:
            counters.reconnects += 1
        self._opened_at = opened = runtime.time()
        self._ended_by = None
        self._inbox.attach(conn)
        watch = None
        interval = self.config.heartbeat_interval
        if interval is not None:
            beat = heartbeat(
                conn,
                interval,
                self.config.heartbeat_timeout,
                self._inbox.behind,
                counters.set_rtt,
                self.config.heartbeat_message,
                self._page.nudged if self._page.watching else None,
            )
            watch = runtime.spawn(beat, "omniws heartbeat")
        try:
            self._lifecycle.move(Connected())
            token = link.opening(conn)
            try:
                await self._events.call("on_open")
            finally:
                link.opened(conn, token, counted=not self._closing)
            frame = await conn.wait_closed()
        finally:
            if conn.close_code is None:  # cancelled by close(): leave nothing open
                conn.abort()
            self._opened_at = None
            uptime = runtime.time() - opened
            counters.connected_time += uptime
            self._inbox.detach(conn)
            link.detach()
            dead = None
            if watch is not None:
                await stop_task(runtime, watch)
                dead = None if watch.cancelled() or not watch.done() else watch.result()
        self._backoff.connection_ended(uptime)
        ended_by, self._ended_by = self._ended_by, None
        frame = ended_by or frame  # on_close says why the page closed it
        self._lifecycle.end_frame = frame
        self._events.emit("on_close", frame)
        cause: RetryCause = ended_by or dead or conn.close_error or frame
        if isinstance(cause, WebSocketError) and not self._closing:
            self._events.report(cause)
        return cause

    def _hook(self, cause: RetryCause) -> bool | None:
        hook = self._retry_hook
        if hook is None:
            return None
        try:
            return hook(cause)
        except Exception as exc:
            self._events.report(HandlerError("should_retry", hook, exc))
            return None

    async def _retry_after(self, cause: RetryCause) -> bool:
        """Decide about ``cause``: wait out the backoff and return True, or set the final
        state and return False."""
        lifecycle, page = self._lifecycle, self._page
        # away (pagehide) or offline: wait for pageshow / online, and try every max_delay
        # while offline in case the flag is wrong; this counts against no max_attempts
        paused = page.away or not page.online
        resumed = cause is PAGEHIDE_CLOSE  # the client closed it: resume whatever the policy
        if not resumed and not should_retry(cause, self.config.reconnect, hook=self._hook):
            code = cause.code if isinstance(cause, CloseFrame | ConnectionClosed) else None
            if code is not None and ends_normally(code):
                lifecycle.move(Disconnected())
            else:
                recoverable = not isinstance(cause, ConfigError) and is_retryable(cause)
                lifecycle.move(Failed(as_error(cause), recoverable))
            return False
        if paused:
            attempt = self._backoff.attempt + 1
            delay = math.inf if page.away else self._backoff.config.max_delay
        elif self._backoff.exhausted:
            lifecycle.move(Failed(as_error(cause), True))
            return False
        else:
            delay = self._backoff.next_delay(retry_after_of(cause))
            attempt = self._backoff.attempt
        now = _runtime.current().time()
        lifecycle.move(Reconnecting(attempt, now + delay, delay, cause))
        woken = await page.sleep(delay)
        while page.away:
            woken = await page.sleep(math.inf)
        if woken:  # online or pageshow: at once, with the backoff started over
            attempt = max(1, self._backoff.attempt)
        lifecycle.move(Connecting(attempt))
        return True

    async def close(self, code: int, reason: str) -> None:
        """Close the connection (if any) with ``code`` and stop every task of the loop."""
        self._closing = True
        self._page.stop()
        lifecycle, close_timeout = self._lifecycle, self.config.close_timeout
        runtime = _runtime.current()
        task, dispatcher = self._task, self._dispatcher
        if not lifecycle.stopped:
            lifecycle.move(Closing())
        conn = self._link.current
        if conn is not None and conn.close_code is None:
            try:
                await runtime.timeout(conn.close(code, reason), close_timeout)
            except Exception as exc:
                logger.debug("%s: close failed (%r), aborting", self.config.url, exc)
                conn.abort()
        # let the loop see the end of the connection, and the dispatcher hand what arrived
        # before it to the handlers: briefly, within one more close_timeout
        grace = [t for t in (task, dispatcher) if t is not None and not runtime.is_current(t)]
        if grace and conn is not None:
            await runtime.wait_all(grace, close_timeout)
        for pending in grace:
            await stop_task(runtime, pending)
        if dispatcher is not None and not runtime.is_current(dispatcher):
            self._dispatcher = None
        if not isinstance(lifecycle.state, Failed | Disconnected):
            if lifecycle.end_frame is None:
                lifecycle.end_frame = CloseFrame(code, reason)
            lifecycle.move(Disconnected())
        await self._events.drain(close_timeout)
