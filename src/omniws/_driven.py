"""What the socket platforms' Connections (asyncio's in ``native/``, trio's in
``trio_io/``) share on top of :class:`~omniws._connection_base.ConnectionBase`: they both
drive the sans-I/O :class:`~omniws.protocol.connection.WebSocketProtocol`, so parsing,
protocol errors, the peer's close frame, message handlers and pings (with their round-trip
times) work the same way on both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ._connection_base import OPEN, ConnectionBase
from ._runtime import Signal
from .errors import ProtocolError
from .messages import CloseFrame, Message
from .protocol.connection import WebSocketProtocol, check_control_payload

if TYPE_CHECKING:
    from .protocol.deflate import PerMessageDeflate

__all__ = ["DrivenConnection", "MessageHandler"]

MessageHandler = Callable[[Message], object]


class DrivenConnection(ConnectionBase):
    """A connection whose bytes a :class:`WebSocketProtocol` parses and makes."""

    _protocol: WebSocketProtocol

    def _init_driven(
        self, write: Callable[[bytes], object], deflate: PerMessageDeflate | None, budget: int
    ) -> None:
        """Drive a new protocol that writes with ``write`` and parses at most ``budget``
        frames per call (the connection base is set up already)."""
        config = self.config
        self._protocol = WebSocketProtocol(
            write,
            max_message_size=config.max_message_size,
            deflate=deflate,
            on_message=self._enqueue,
            on_pong=self._on_pong,
            on_close=self._on_close_frame,
            frame_budget=budget,
        )
        self._queue_limit = config.max_queue
        self._resume_at = config.max_queue >> 2
        self._pings: dict[bytes, tuple[Signal, float]] = {}
        self._pong_times: dict[bytes, float] = {}
        self._ping_counter = 0

    def _wrote(self) -> None:
        """The protocol has written outside ``send()`` (a ping): have it sent."""

    def _feed(self, data: bytes) -> bool:
        """Parse ``data``; True when bytes are left over for another step."""
        try:
            return self._protocol.receive_data(data)
        except ProtocolError as exc:
            self.close_error = exc
            self.close_code, self.close_reason = exc.close_code, ""  # what we sent
            self._end_input()
            return False

    def _send_close(self, code: int, reason: str) -> None:
        self._protocol.send_close(code, reason)
        self._wrote()

    def _on_close_frame(self, frame: CloseFrame) -> None:
        self.close_code, self.close_reason = frame.code, frame.reason
        self._end_input()

    def set_message_handler(self, handler: MessageHandler | None) -> None:
        """Deliver each message to ``handler(message)`` straight from the parser (None:
        back to the ``recv()`` queue). Messages already queued go to the handler first."""
        if handler is None:
            self._protocol.on_message = self._enqueue
            return
        while self._queue:
            handler(self._queue.popleft())
        self._protocol.on_message = handler
        self._read_to_close()  # nothing is queued any more: read on

    async def ping(self, data: bytes | None = None) -> float:
        """Send a ping and return the round-trip time in seconds when its pong arrives.

        ``data`` (bytes, at most 125) must differ from every ping still waiting for its pong;
        by default a counter. TypeError or ValueError for another payload, before anything
        is sent. A cancelled ping is forgotten (its pong, if it comes, answers nothing).
        """
        if data is not None:
            data = check_control_payload(data)
        if self._state != OPEN:
            raise self._closed_error()
        if data is None:
            self._ping_counter += 1
            data = self._ping_counter.to_bytes(8, "big")
        if data in self._pings:
            raise ValueError("a ping with this payload is already waiting for its pong")
        signal = self._runtime.signal()
        self._pings[data] = (signal, self._runtime.time())
        self._protocol.send_ping(data)
        self._wrote()
        try:
            await signal
        except BaseException:  # cancelled: forget it
            if self._pings.get(data, (None,))[0] is signal:
                del self._pings[data]
            self._pong_times.pop(data, None)
            raise
        rtt = self._pong_times.pop(data, None)
        if rtt is None:  # the connection ended first
            raise self._closed_error()
        return rtt

    def _on_pong(self, payload: bytes) -> None:
        if payload not in self._pings:
            return
        now = self._runtime.time()
        # a pong answers its ping and every ping sent before it (RFC 6455 5.5.3)
        for key in list(self._pings):
            signal, sent = self._pings.pop(key)
            if not signal.done():  # done: cancelled (asyncio), its task forgets it
                self._pong_times[key] = now - sent
                signal.set_result(None)
            if key == payload:
                break

    def _end_pings(self) -> None:
        """The connection has ended: every waiting ping raises the closed error."""
        pings, self._pings = self._pings, {}
        for signal, _ in pings.values():
            if not signal.done():
                signal.set_result(None)
