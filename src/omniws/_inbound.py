"""Inbound side of the supervisor: message routing across connections, and the heartbeat.

Without a sync ``on_message`` handler, messages go to the client's inbox, filled straight
from the parser by a callback. When the inbox holds ``max_queue`` messages the callback is
removed, so that the connection buffers and stops reading (backpressure); that connection is
then read through its own ``recv()`` until it has ended and is drained, and connections
opened meanwhile queue behind it, so the order is kept. While the reader is behind like that,
silence on the connection is expected and is not taken for a dead peer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable

from ._events import Connection, Dispatcher, HandlerError, payload_size
from .errors import WebApiError, WebSocketError, WebSocketTimeout
from .messages import Message

logger = logging.getLogger("omniws.client")
_warned_no_ping = False  # the "no heartbeat_message where ping() is unsupported" warning


class Inbox:
    """Received messages of every connection of one client, in order; counts them too."""

    def __init__(self, max_queue: int, events: Dispatcher, notify: Callable[[], None]) -> None:
        self.messages: deque[Message] = deque()
        self.sources: deque[Connection] = deque()  # detached connections holding messages
        self.reading: Connection | None = None
        self.count = 0
        self.size = 0
        self._limit = max_queue
        self._events = events
        self._notify = notify

    def attach(self, conn: Connection) -> None:
        """Install the message callback of a new connection."""
        events = self._events
        if events.lists["on_message"] and not events.has_async("on_message"):
            handlers = tuple(events.lists["on_message"])

            def deliver(message: Message) -> None:
                self.count += 1
                self.size += payload_size(message)
                for handler in handlers:
                    try:
                        handler(message)
                    except Exception as exc:
                        events.report(HandlerError("on_message", handler, exc))

            conn.set_message_handler(deliver)
            return
        if self.sources:  # the reader is behind on an older connection: keep the order
            self.sources.append(conn)
            return
        messages, limit, notify = self.messages, self._limit, self._notify

        def enqueue(message: Message) -> None:
            self.count += 1
            self.size += payload_size(message)
            messages.append(message)
            notify()
            if len(messages) >= limit:  # full: the connection buffers and stops reading
                conn.set_message_handler(None)
                self.sources.append(conn)

        conn.set_message_handler(enqueue)

    def wake(self) -> None:
        """Wake a waiting reader (the supervisor stopped)."""
        self._notify()

    def detach(self, conn: Connection) -> None:
        """``conn`` has ended: remove its callback (unless its own queue is being read)."""
        if conn not in self.sources:
            with contextlib.suppress(RuntimeError, WebSocketError):  # best effort once closed
                conn.set_message_handler(None)

    def behind(self, conn: Connection) -> bool:
        """The reader is not keeping up, so ``conn`` may have stopped reading on purpose.

        Exact when the connection has the optional ``reading_paused`` attribute; otherwise
        assumed while ``conn`` is detached and no ``recv()`` is waiting on it."""
        paused = getattr(conn, "reading_paused", None)
        if paused is not None:
            return bool(paused)
        return conn in self.sources and self.reading is not conn

    async def next(
        self,
        raise_if_stopped: Callable[[], None],
        changed: Callable[[], asyncio.Future[None]],
    ) -> Message:
        """The next message; ``raise_if_stopped`` ends the wait once nothing is left."""
        while True:
            if self.messages:
                return self.messages.popleft()
            if self.sources:
                source = self.sources[0]
                self.reading = source
                try:
                    message = await source.recv()
                except WebSocketError:
                    if source.close_code is None:
                        raise
                    if self.sources and self.sources[0] is source:
                        self.sources.popleft()
                    continue
                finally:
                    self.reading = None
                self.count += 1
                self.size += payload_size(message)
                return message
            raise_if_stopped()
            await changed()


async def heartbeat(
    conn: Connection,
    interval: float,
    timeout: float,
    behind: Callable[[Connection], bool],
    on_rtt: Callable[[float], None],
    message: str | bytes | None = None,
) -> WebSocketTimeout | None:
    """Ping ``conn`` after ``interval`` seconds without inbound data. When neither a pong nor
    any other data arrives within ``timeout``, abort it and return the error; return None when
    the connection ends otherwise. Pauses while ``behind(conn)``: the reader, not the peer, is
    slow then. With a ``message`` (``config.heartbeat_message``) the message is sent instead
    of a ping and any inbound data counts as alive; that is the only heartbeat where
    ``ping()`` is not supported (Pyodide)."""
    loop = asyncio.get_running_loop()
    try:
        while conn.close_code is None:
            idle = loop.time() - conn.last_received
            if idle < interval:
                await asyncio.sleep(interval - idle)
                continue
            if behind(conn):
                await asyncio.sleep(interval)
                continue
            sent = loop.time()
            try:
                if message is None:
                    on_rtt(await asyncio.wait_for(conn.ping(), timeout))
                    continue
                await conn.send(message)
                await asyncio.sleep(timeout)
                if conn.last_received < sent and conn.close_code is None:
                    raise asyncio.TimeoutError
            except (WebApiError, NotImplementedError) as exc:  # no pings here (Pyodide)
                if conn.close_code is not None:
                    break
                global _warned_no_ping
                if not _warned_no_ping:
                    _warned_no_ping = True
                    logger.warning(
                        "heartbeat disabled: %s; set WebSocketConfig(heartbeat_message=...) to "
                        "an application message the server answers to detect dead connections",
                        exc,
                    )
                return None
            except asyncio.TimeoutError:
                if conn.last_received >= sent or behind(conn):
                    continue
                hint = "no pong nor any other data arrived: the connection is dead"
                error = WebSocketTimeout("heartbeat", timeout, hint=hint)
                logger.warning("%s; reconnecting", error)
                conn.abort()
                return error
    except WebSocketError:
        pass  # the connection ended; the supervisor sees it
    return None
