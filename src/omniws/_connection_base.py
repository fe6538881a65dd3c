"""What every platform's Connection shares: the receive queue and its one reader, the
lifecycle (open, closing, closed), the close timer, the error a closed connection raises,
iteration and context management.

A platform's Connection (native/, wasm/) supplies the I/O through a few hooks: ``send``,
``abort``, ``_send_close`` and optionally ``_read_to_close`` and ``_on_queue_full``.
"""

from __future__ import annotations

from collections import deque
from typing import TypeVar

from ._runtime import Runtime, Signal, TimerHandle
from .closecodes import check_close, ends_normally
from .config import WebSocketConfig
from .errors import ConnectionClosed, WebSocketError
from .messages import CloseFrame, Data, Message

__all__ = ["CLOSED", "CLOSING", "CONNECTING", "OPEN", "ConnectionBase"]

_C = TypeVar("_C", bound="ConnectionBase")
CONNECTING, OPEN, CLOSING, CLOSED = 0, 1, 2, 3
_STATE_NAMES = {CONNECTING: "connecting", OPEN: "open", CLOSING: "closing", CLOSED: "closed"}


class ConnectionBase:
    """Base of the native and the Pyodide Connection (docs/INTERNALS.md)."""

    _name = "omniws.Connection"  # in repr()
    _browser = False  # which close codes the application may send (closecodes.check_close)
    _queue_limit: float = float("inf")  # queue length at which _on_queue_full is called

    def _init_base(self, config: WebSocketConfig, runtime: Runtime, state: int) -> None:
        self.config = config
        self._runtime = runtime
        self._state = state
        self._queue: deque[Message] = deque()
        self._waiter: Signal | None = None
        self._closed = runtime.signal()
        self._close_frame = CloseFrame(1006)  # how it ended, once _closed is set
        self._close_timer: TimerHandle | None = None
        self._sent_close: CloseFrame | None = None  # the close this side asked for
        self._input_ended = False  # no message can arrive any more
        self._queue_paused = False  # set by _on_queue_full; recv() clears it
        self._resume_at = 0  # queue length at which recv() clears it
        self.last_received = runtime.time()
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self.close_error: WebSocketError | None = None

    # ---- the platform's part ------------------------------------------------------------
    async def send(self, message: Data) -> None:
        """Send ``str`` as a text message, ``bytes``-like as binary."""
        raise NotImplementedError

    def abort(self) -> None:
        """End the connection at once, without a close handshake (close code 1006)."""
        raise NotImplementedError

    def _send_close(self, code: int, reason: str) -> None:
        """Start the close handshake on the wire (code and reason already checked)."""
        raise NotImplementedError

    def _read_to_close(self) -> None:
        """close() is waiting: make sure the peer's close frame can still be read."""

    def _on_queue_full(self) -> None:
        """The queue reached ``_queue_limit``: set ``_queue_paused`` and stop reading."""

    # ---- receiving ------------------------------------------------------------------
    async def recv(self) -> Message:
        """The next message: ``str`` for text, ``bytes`` for binary.

        Returns at once when a message is buffered. Raises :class:`ConnectionClosed` (or the
        error that ended the connection) once it has ended and every buffered message was
        read, and RuntimeError when another task is already waiting in ``recv()``.
        """
        queue = self._queue
        if not queue:
            if self._input_ended:
                raise self._closed_error()
            waiter = self._new_waiter()  # raises, touching nothing, if another task waits
            try:
                await waiter
            finally:
                self._waiter = None  # ours: only the task that set it clears it
            if not queue:
                raise self._closed_error()
        message = queue.popleft()
        if self._queue_paused and len(queue) <= self._resume_at:
            self._queue_paused = False
            self._reading_changed()
        return message

    def _new_waiter(self) -> Signal:
        """The future a ``recv()`` sleeps on until a message is queued or the connection
        ends; one reader at a time. (A future, not a coroutine: no extra frame per wait.)"""
        if self._waiter is not None:
            raise RuntimeError(
                "recv() is already waiting in another task: read from one task only "
                "(hand messages to others with a queue)"
            )
        waiter = self._runtime.signal()
        self._waiter = waiter
        return waiter

    def _enqueue(self, message: Message) -> None:
        """A message arrived: queue it and wake the reader (the per-message hot path)."""
        queue = self._queue
        queue.append(message)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        if len(queue) >= self._queue_limit and not self._queue_paused:
            self._on_queue_full()

    def _wake_reader(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _reading_changed(self) -> None:
        """``_queue_paused`` changed: pause or resume reading to match."""

    # ---- closing --------------------------------------------------------------------
    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close with ``code`` and ``reason`` (at most 123 UTF-8 bytes) and wait for the close
        handshake (at most ``close_timeout``). Safe to call more than once.

        Raises TypeError or ValueError, naming the rule, for a code this platform may not
        send (checked before anything changes).
        """
        check_close(code, reason, browser=self._browser)
        if self._state <= OPEN:
            self._send_close(code, reason)
            self._sent_close = CloseFrame(code, reason)
            self._state = CLOSING
            self._start_close_timer()
        if self._state != CLOSED:
            self._read_to_close()
        await self._runtime.shielded(self._closed)

    def _end_input(self) -> None:
        """No more messages will arrive (the peer's close frame, a protocol error, a message
        over the limit): wake the reader and give the peer ``close_timeout`` to hang up."""
        self._input_ended = True
        if self._state != CLOSED:
            self._state = CLOSING
        self._wake_reader()
        self._start_close_timer()

    def _start_close_timer(self) -> None:
        # the server closes TCP after the close handshake; don't wait for it forever
        if self._close_timer is None and self._state != CLOSED:
            timeout = self.config.close_timeout
            self._close_timer = self._runtime.call_later(timeout, self.abort)

    def _mark_closed(self) -> None:
        """Closed now (an abort: the platform may report the end later): nothing more
        is sent or received; a waiting reader wakes up."""
        if self.close_code is None:
            self.close_code, self.close_reason = 1006, ""
        self._state = CLOSED
        self._input_ended = True
        self._wake_reader()

    def _finish(self) -> None:
        """The connection has ended (the platform said so): wake everyone, resolve ``closed``."""
        self._mark_closed()
        if self._close_timer is not None:
            self._close_timer.cancel()
        if not self._closed.done():
            self._close_frame = CloseFrame(self.close_code or 1006, self.close_reason or "")
            self._closed.set_result(None)

    def _closed_error(self) -> WebSocketError:
        """What recv() and send() raise once the connection is closing or closed."""
        if self.close_error is not None:
            return self.close_error
        if self.close_code is None:  # we sent a close frame; the peer has not answered yet
            sent = self._sent_close or CloseFrame(1006, "")
            return ConnectionClosed(sent.code, sent.reason, detail="close() was called")
        return ConnectionClosed(self.close_code, self.close_reason or "")

    async def wait_closed(self) -> CloseFrame:
        """Wait until the connection has ended, for any reason; return how it ended."""
        await self._runtime.shielded(self._closed)
        return self._close_frame

    @property
    def closed(self) -> bool:
        """True once the connection has fully ended."""
        return self._state == CLOSED

    # ---- iteration, context management --------------------------------------------------
    def __aiter__(self: _C) -> _C:
        return self

    async def __anext__(self) -> Message:
        try:
            return await self.recv()
        except ConnectionClosed as exc:
            if ends_normally(exc.code):  # 1000, 1001, 1005 (omniws.closecodes)
                raise StopAsyncIteration from None
            raise

    async def __aenter__(self: _C) -> _C:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        with self._runtime.cleanup():
            await self.close()

    def __repr__(self) -> str:
        return f"<{self._name} {self.config.url} {_STATE_NAMES[self._state]}>"
