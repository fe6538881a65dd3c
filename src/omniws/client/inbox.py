"""The inbound side of a client: message routing across connections, in order.

Without a sync ``on_message`` handler, messages go to the client's inbox, filled straight
from the parser by a callback. When the inbox holds ``max_queue`` messages the callback is
removed, so that the connection buffers and stops reading (backpressure); that connection is
then read through its own ``recv()`` until it has ended and is drained, and connections
opened meanwhile queue behind it, so the order is kept. While the reader is behind like that,
silence on the connection is expected and is not taken for a dead peer.

Heartbeat replies (``config.heartbeat_reply``) are dropped here: the connection already
counted them as signs of life.

Several tasks may read at once: each message goes to exactly one of them, in order of
arrival; while one reads from a connection's own queue, the others wait their turn.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Callable

from .._runtime import Signal
from ..errors import HandlerError, WebSocketError
from ..messages import Message
from .contract import Connection
from .events import Dispatcher
from .stats import Counters, payload_size

__all__ = ["Inbox"]


class Inbox:
    """Received messages of every connection of one client, in order; counts them too."""

    def __init__(
        self,
        max_queue: int,
        events: Dispatcher,
        counters: Counters,
        notify: Callable[[], None],
        heartbeat_reply: str | bytes | Callable[[Message], bool] | None = None,
    ) -> None:
        self.messages: deque[Message] = deque()
        self.sources: deque[Connection] = deque()  # detached connections holding messages
        self.reading: Connection | None = None  # the source a reader is waiting on
        self._counters = counters
        self._is_reply = _reply_filter(heartbeat_reply, events)
        self._limit = max_queue
        self._events = events
        self._notify = notify

    def attach(self, conn: Connection) -> None:
        """Install the message callback of a new connection."""
        events, counters, is_reply = self._events, self._counters, self._is_reply
        if events.handles("on_message") and not events.has_async("on_message"):
            handlers = events.handlers("on_message")

            def deliver(message: Message) -> None:
                if is_reply is not None and is_reply(message):
                    return
                counters.messages_in += 1
                counters.bytes_in += payload_size(message)
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
            if is_reply is not None and is_reply(message):
                return
            counters.messages_in += 1
            counters.bytes_in += payload_size(message)
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
        changed: Callable[[], Signal],
    ) -> Message:
        """The next message; ``raise_if_stopped`` ends the wait once nothing is left."""
        while True:
            if self.messages:
                return self.messages.popleft()
            if self.sources and self.reading is None:
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
                    self._notify()  # another reader may take its turn
                if self._is_reply is not None and self._is_reply(message):
                    continue
                self._counters.messages_in += 1
                self._counters.bytes_in += payload_size(message)
                return message
            if not self.sources:
                raise_if_stopped()
            await changed()


def _reply_filter(
    reply: str | bytes | Callable[[Message], bool] | None, events: Dispatcher
) -> Callable[[Message], bool] | None:
    """``config.heartbeat_reply`` as a test of a message (None: no test). A predicate that
    raises is reported like a handler, and the message is delivered."""
    if reply is None:
        return None
    if isinstance(reply, (str, bytes)):
        return lambda message: message == reply
    predicate = reply

    def matches(message: Message) -> bool:
        try:
            return bool(predicate(message))
        except Exception as exc:
            events.report(HandlerError("heartbeat_reply", predicate, exc))
            return False

    return matches
