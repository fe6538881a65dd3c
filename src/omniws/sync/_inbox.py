"""Received messages, handed from the loop thread to the threads that call ``recv()``.

The loop side appends to a deque (no lock, no syscall) and signals a condition only when a
reader is waiting, so a reader that keeps up with a fast stream never sleeps or wakes.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from ..errors import WebSocketError, WebSocketTimeout
from ..messages import Message
from ._thread import LoopThread

__all__ = ["Inbox", "receive"]


class Inbox:
    """A thread-safe queue of messages that ends with the error that ended the stream.

    ``on_room`` runs (in the reader's thread) when a reader takes the queue from full back
    to a quarter of ``limit``: the loop side stopped reading at ``limit`` and resumes then.
    """

    def __init__(self, limit: int, on_room: Callable[[], None]) -> None:
        self.messages: deque[Message] = deque()
        self.limit = limit
        self.full = False  # set by the loop side when it stopped reading
        self._low = limit >> 2
        self._on_room = on_room
        self._cond = threading.Condition(threading.Lock())
        self._waiting = 0
        self.error: WebSocketError | None = None

    # --- loop side ------------------------------------------------------------------------
    def put(self, message: Message) -> None:
        self.messages.append(message)
        if self._waiting:
            self.wake_one()

    def wake_one(self) -> None:
        """Wake one waiting reader: a message was appended to ``messages``."""
        with self._cond:
            self._cond.notify()

    def end(self, error: WebSocketError) -> None:
        """No more messages will come: wake every reader (any thread)."""
        with self._cond:
            if self.error is None:
                self.error = error
            self._cond.notify_all()

    def reset(self) -> None:
        """Start over for a new run of the same client (nothing is waiting)."""
        self.messages.clear()
        self.full = False
        self.error = None

    @property
    def waiting(self) -> bool:
        """A reader is blocked waiting for a message."""
        return self._waiting > 0

    # --- reader side ----------------------------------------------------------------------
    def get(self, timeout: float | None) -> Message:
        """The next message; raises the ending error once drained, or WebSocketTimeout."""
        messages = self.messages
        try:
            message = messages.popleft()
        except IndexError:
            message = self._wait(timeout)
        if self.full and len(messages) <= self._low:
            self.full = False
            self._on_room()
        return message

    def _wait(self, timeout: float | None) -> Message:
        if timeout is not None and timeout < 0:
            raise ValueError(f"recv timeout must be None or >= 0 seconds, got {timeout!r}")
        messages = self.messages
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            self._waiting += 1
            try:
                while True:
                    if messages:
                        return messages.popleft()
                    if self.error is not None:
                        raise self.error
                    if deadline is None:
                        self._cond.wait()
                        continue
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise WebSocketTimeout(
                            "recv",
                            timeout or 0.0,
                            hint="no message arrived; the connection is still usable",
                        )
                    self._cond.wait(min(remaining, threading.TIMEOUT_MAX))
            finally:
                self._waiting -= 1


def receive(
    inbox: Inbox, thread: LoopThread, timeout: float | None, busy: Callable[[], bool]
) -> Message:
    """``recv()``: the next message of ``inbox``, running the event loop in this thread while
    nothing is queued and no other thread runs it (else waiting for the one that does).
    ``busy()`` tells whether the loop has work left when this thread hands it back."""
    if inbox.messages:
        return inbox.get(timeout)
    if inbox.error is None and thread.inside():
        raise RuntimeError(
            "recv() cannot wait inside a handler: it runs on the event loop that would "
            "deliver the message; receive in another thread"
        )
    if timeout is not None and timeout < 0:
        raise ValueError(f"recv timeout must be None or >= 0 seconds, got {timeout!r}")
    deadline = None if timeout is None else time.monotonic() + timeout
    if inbox.error is None and thread.acquire(wait=True):
        try:
            # a message may have come while this thread took the loop over: look first
            while not inbox.messages and inbox.error is None:
                left = None if deadline is None else max(deadline - time.monotonic(), 0.0)
                thread.run_once(left)  # one turn at least: recv(timeout=0) polls the socket
                if left == 0.0:
                    break
        finally:
            thread.lent = False
            thread.release(urgent=inbox.waiting or busy())
    left = None if deadline is None else max(deadline - time.monotonic(), 0.0)
    try:
        return inbox.get(left)
    except WebSocketTimeout:
        raise WebSocketTimeout(
            "recv", timeout or 0.0, hint="no message arrived; the connection is still usable"
        ) from None
