"""The states of a :class:`~omniws.WebSocketClient`, as frozen dataclasses.

``client.state`` is always one of them, so it can be matched::

    match client.state:
        case Connected():
            ...
        case Reconnecting(attempt, next_retry):
            print(f"retry {attempt} at loop time {next_retry:.1f}")
        case Failed(error, recoverable):
            ...

Their ``repr`` and ``str`` are for people (``Reconnecting(attempt 1, retry in 0.51 s, after
close 1006)``); the fields keep the exact values for code.

The life of a client::

    Disconnected -> Connecting -> Connected -> (drop) -> Reconnecting -> Connecting -> ...
                         \\-> (failure) -> Reconnecting         \\-> Failed (not retried)
    any state -> Closing -> Disconnected        (close() by the application)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import WebSocketError
from .messages import CloseFrame

_NEVER = float("inf")  # a Reconnecting that waits for a signal (the page coming back)


def _cause(cause: WebSocketError | CloseFrame | None) -> str:
    if cause is None:
        return ""
    if isinstance(cause, CloseFrame):
        return f", after close {cause.code}"
    return f", after {type(cause).__name__}"


__all__ = [
    "Closing",
    "Connected",
    "Connecting",
    "ConnectionState",
    "Disconnected",
    "Failed",
    "Reconnecting",
]


@dataclass(frozen=True, repr=False)
class Disconnected:
    """Not connected and not trying: before ``connect()``, after ``close()``, or after the
    server closed the connection cleanly (1000, 1001, 1005) and that close was not retried."""

    def __repr__(self) -> str:
        return "Disconnected"


@dataclass(frozen=True, repr=False)
class Connecting:
    """An attempt to open a connection is running.

    ``attempt`` is 0 for the first connection and n for the n-th retry in a row
    (the same number as the :class:`Reconnecting` state that preceded it).
    """

    attempt: int = 0

    def __repr__(self) -> str:
        return f"Connecting(attempt {self.attempt})" if self.attempt else "Connecting"


@dataclass(frozen=True, repr=False)
class Connected:
    """The connection is open. ``on_open`` handlers run right after this state is entered;
    ``send()`` calls that waited for the connection go out once they have finished."""

    def __repr__(self) -> str:
        return "Connected"


@dataclass(frozen=True, repr=False)
class Reconnecting:
    """Waiting before retry number ``attempt`` (1 for the first retry in a row).

    ``next_retry`` is the event-loop time (``asyncio.get_running_loop().time()``, a monotonic
    clock, like the original design's ``Instant``) at which the attempt starts; ``delay`` is the
    same wait in seconds, measured from the moment this state was entered. ``cause`` is the
    error or close frame that ended the previous connection or attempt (not compared).
    """

    attempt: int
    next_retry: float
    delay: float = 0.0
    cause: WebSocketError | CloseFrame | None = field(default=None, compare=False)

    def __repr__(self) -> str:
        wait = f"retry in {self.delay:.2f} s" if self.delay < _NEVER else "no retry scheduled"
        return f"Reconnecting(attempt {self.attempt}, {wait}{_cause(self.cause)})"


@dataclass(frozen=True, repr=False)
class Failed:
    """The client stopped for good: ``error`` says why.

    ``recoverable`` is False when retrying cannot help (HTTP 4xx, a certificate failure,
    a bad config, a close code that is not retried) and True when the error itself was
    transient but the client gave up: ``max_attempts`` was exhausted, reconnection is
    disabled, or the ``should_retry`` hook declined. ``connect()`` may be called again.
    """

    error: WebSocketError
    recoverable: bool

    def __repr__(self) -> str:
        kind = "recoverable" if self.recoverable else "final"
        return f"Failed({type(self.error).__name__}: {self.error}; {kind})"


@dataclass(frozen=True, repr=False)
class Closing:
    """``close()`` is running: the close handshake, then stopping every task."""

    def __repr__(self) -> str:
        return "Closing"


ConnectionState = Disconnected | Connecting | Connected | Reconnecting | Failed | Closing
"""Any one of the client states."""
