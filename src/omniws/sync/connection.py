"""``omniws.sync.connect()``: one blocking connection, run by an event loop on its own thread."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import threading
from types import TracebackType
from typing import Any

import omniws

from .._connect import Opening
from .._validate import Duration, seconds
from ..closecodes import check_close, ends_normally
from ..config import WebSocketConfig
from ..errors import ConfigError, ConnectionClosed, WebSocketError
from ..messages import Data, Message
from ..protocol.control import check_control_payload
from ._inbox import Inbox, receive
from ._outbox import Outbox, check_data
from ._thread import LoopThread, require_threads

__all__ = ["Connection", "connect"]


def connect(
    url: str | None = None, *, config: WebSocketConfig | None = None, **options: Any
) -> Connection:
    """Open one WebSocket connection and return it once the handshake is done.

    Takes the options of :func:`omniws.connect` (the fields of :class:`~omniws.WebSocketConfig`)
    or ``config=``. No reconnection and no heartbeat: for that, use
    :class:`omniws.sync.WebSocketClient`. ``with connect(url) as ws:`` closes it on exit.
    """
    require_threads()
    opener = omniws.connect(url, config=config, **options)  # validates the arguments
    if opener.config.transport == "fast":
        raise ConfigError(
            "transport",
            "'fast' cannot serve omniws.sync.connect(): it lends its event loop to the calling "
            "threads, and aiofastnet's transports refuse calls from other threads; use 'auto'",
        )
    # aiofastnet's transports refuse calls from any thread but the one that made them
    opener.config = dataclasses.replace(opener.config, transport="asyncio")
    thread = LoopThread(f"omniws.sync {opener.config.url}")
    try:
        timeout = opener.config.connect_timeout
        conn = thread.run(_open(opener), None if timeout is None else 2 * timeout + 5)
    except BaseException:
        thread.stop()
        raise
    return Connection(thread, conn, opener.config)


async def _open(opener: Opening) -> omniws.Connection:
    return await opener


class Connection:
    """An open WebSocket connection for threaded code (get one from :func:`connect`).

    Every method may be called from any thread: sends are queued to the connection's thread
    whole, in order, so messages from several threads never interleave; ``close()`` wakes a
    blocked ``recv()`` at once. The connection's thread ends with ``close()``.
    """

    def __init__(
        self, thread: LoopThread, conn: omniws.Connection, config: WebSocketConfig
    ) -> None:
        self.config = config
        self._thread = thread
        self._conn = conn
        self._inbox = Inbox(config.max_queue, self._request_room)
        self._outbox = Outbox(
            thread.loop, config.write_limit, self._write_nowait, conn.send, self._kick
        )
        self._resuming = False
        self._detach_later = False
        self._close_lock = threading.Lock()
        thread.call(self._start)

    # --- loop thread ----------------------------------------------------------------------
    def _start(self) -> None:
        self._conn.set_message_handler(self._deliver)
        self._thread.loop.create_task(self._watch())

    def _deliver(self, message: Message) -> None:
        inbox = self._inbox
        messages = inbox.messages
        messages.append(message)
        if inbox.waiting:
            inbox.wake_one()
        if self._thread.lent:
            self._thread.loop.stop()  # the caller's recv() has its message
        if len(messages) >= inbox.limit and not inbox.full:
            inbox.full = True  # the connection buffers and stops reading: backpressure
            if self._resuming:
                self._detach_later = True
            else:
                self._conn.set_message_handler(None)

    def _request_room(self) -> None:  # a reader's thread: the inbox has room again
        thread = self._thread
        if thread.inside():
            self._resume()
        elif thread.acquire(wait=False):
            try:
                self._resume()
            finally:
                thread.release()
        else:
            thread.call(self._resume)

    def _resume(self) -> None:
        self._resuming, self._detach_later = True, False
        try:
            self._conn.set_message_handler(self._deliver)  # hands over what it buffered
        finally:
            self._resuming = False
        if self._detach_later:
            self._conn.set_message_handler(None)

    def _write_nowait(self, data: Data) -> bool:
        conn = self._conn
        if conn.write_paused:
            return False  # conn.send() writes it and waits for the buffer to drain
        conn.send_nowait(data)
        return True

    async def _watch(self) -> None:
        conn = self._conn
        await conn.wait_closed()
        while True:  # messages left in the connection's own queue, then its ending error
            try:
                message = await conn.recv()
            except WebSocketError as exc:
                self._outbox.end(exc)
                self._inbox.end(exc)
                self._thread.interrupt()
                return
            self._inbox.messages.append(message)

    def _kick(self) -> None:  # a sender's thread: get the outbox flushed
        thread = self._thread
        if thread.inside():
            self._outbox.flush()
        elif thread.acquire(wait=False):
            try:
                self._outbox.flush()
            finally:
                thread.release(urgent=self._outbox.busy)
        else:
            thread.call(self._outbox.flush)

    async def _close(self, code: int, reason: str, *, stop: bool = False) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._outbox.drained(), self.config.close_timeout)
        await self._conn.close(code, reason)
        if stop:
            self._outbox.end(ConnectionClosed(code, reason, detail="close() was called"))
            self._thread.stop()

    # --- public API -----------------------------------------------------------------------
    def send(self, message: Data) -> None:
        """Send ``str`` as a text message, bytes-like as binary (any thread).

        Returns once the message is queued for the socket; blocks while more than
        ``write_limit`` bytes wait for a slow peer. Raises ConnectionClosed once the
        connection has ended."""
        data: Data
        if type(message) is bytes or type(message) is str:
            data, size = message, len(message)
        else:
            data, size = check_data(message)
        outbox, thread = self._outbox, self._thread
        if not outbox.busy and thread.acquire(wait=False):
            # the loop is free and nothing is queued before this message: write it here
            try:
                conn = self._conn
                if not (outbox.busy or outbox.error or conn.write_paused):
                    conn.send_nowait(data)
                    return
            finally:
                thread.release(urgent=outbox.busy)
        outbox.put(data, size, block=not thread.inside())

    def recv(self, timeout: Duration | None = None) -> Message:
        """The next message (``str`` for text, ``bytes`` for binary).

        Raises WebSocketTimeout after ``timeout`` seconds without one (the connection stays
        usable), and ConnectionClosed (or the error that ended the connection) once it has
        ended and every received message was returned."""
        if timeout is not None:
            timeout = seconds("timeout", timeout, allow_none=False, allow_zero=True)
        inbox = self._inbox
        messages = inbox.messages
        if messages:
            return messages.popleft() if not inbox.full else inbox.get(timeout)
        thread = self._thread
        if timeout is None and inbox.error is None and thread.acquire(wait=True):
            # the common case, inlined: run the loop here until a message comes
            try:
                run = thread.loop.run_forever
                thread.lent = True
                while not messages and inbox.error is None:
                    run()
            finally:
                thread.lent = False
                thread.release(urgent=inbox.waiting or self._outbox.busy)
        return receive(inbox, thread, timeout, self._busy)

    def _busy(self) -> bool:
        return self._outbox.busy

    def __iter__(self) -> Connection:
        return self

    def __next__(self) -> Message:
        try:
            return self.recv()
        except ConnectionClosed as exc:
            if ends_normally(exc.code):
                raise StopIteration from None
            raise

    def ping(self, data: bytes | None = None, *, timeout: Duration | None = None) -> float:
        """Send a ping (``data``: up to 125 bytes; None: a fresh counter) and return the
        round-trip time in seconds once its pong arrives; WebSocketTimeout after ``timeout``
        seconds."""
        if data is not None:
            data = check_control_payload(data)
        limit = seconds("timeout", timeout, allow_none=True, allow_zero=True)
        if self._outbox.error is not None:
            raise self._outbox.error
        return self._thread.run(self._conn.ping(data), limit, "ping")

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Close with ``code`` and ``reason``, wait for the close handshake (at most
        ``close_timeout``) and end the connection's thread. Idempotent; any thread. A
        ``recv()`` blocked in another thread raises ConnectionClosed at once."""
        check_close(code, reason)
        self._inbox.end(ConnectionClosed(code, reason, detail="close() was called"))
        self._thread.interrupt()
        if self._thread.inside():  # from a handler: close without waiting
            self._thread.spawn(self._close(code, reason, stop=True))
            return
        with self._close_lock:  # a second close() waits for the first
            if self._thread.stopped:  # closed already (maybe from a handler)
                self._thread.stop()  # joins the thread if it still runs
                return
            try:
                self._thread.run(self._close(code, reason), None, "close")
            finally:
                self._outbox.end(ConnectionClosed(code, reason, detail="close() was called"))
                self._thread.stop()

    @property
    def close_code(self) -> int | None:
        """The close code the connection ended with (1006: dropped); None while open."""
        return self._conn.close_code

    @property
    def close_reason(self) -> str | None:
        """The close reason that came with ``close_code``; None while open."""
        return self._conn.close_reason

    @property
    def subprotocol(self) -> str | None:
        """The subprotocol the server chose, or None."""
        return self._conn.subprotocol

    @property
    def response_headers(self) -> dict[str, str]:
        """The handshake response headers (lower-case names)."""
        return dict(self._conn.response_headers)

    def __enter__(self) -> Connection:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._conn.close_code is not None else "open"
        return f"<omniws.sync.Connection {self.config.url} {state}>"
