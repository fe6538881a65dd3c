"""The states of a :class:`~omniws.WebSocketClient`, as frozen dataclasses.

``client.state`` is always one of them, so it can be matched::

    match client.state:
        case Connected():
            ...
        case Reconnecting(attempt, next_retry):
            print(f"retry {attempt} at loop time {next_retry:.1f}")
        case Failed(error, recoverable):
            ...

The life of a client::

    Disconnected -> Connecting -> Connected -> (drop) -> Reconnecting -> Connecting -> ...
                         \\-> (failure) -> Reconnecting         \\-> Failed (not retried)
    any state -> Closing -> Disconnected        (close() by the application)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import WebSocketError
from .messages import CloseFrame

__all__ = [
    "Closing",
    "Connected",
    "Connecting",
    "ConnectionState",
    "Disconnected",
    "Failed",
    "Reconnecting",
]


@dataclass(frozen=True)
class Disconnected:
    """Not connected and not trying: before ``connect()``, after ``close()``, or after the
    server closed the connection cleanly (1000/1001) and that close was not retried."""


@dataclass(frozen=True)
class Connecting:
    """An attempt to open a connection is running.

    ``attempt`` is 0 for the first connection and n for the n-th retry in a row
    (the same number as the :class:`Reconnecting` state that preceded it).
    """

    attempt: int = 0


@dataclass(frozen=True)
class Connected:
    """The connection is open. ``on_open`` handlers run right after this state is entered;
    ``send()`` calls that waited for the connection go out once they have finished."""


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class Failed:
    """The client stopped for good: ``error`` says why.

    ``recoverable`` is False when retrying cannot help (HTTP 4xx, a certificate failure,
    a bad config, a close code that is not retried) and True when the error itself was
    transient but the client gave up: ``max_attempts`` was exhausted, reconnection is
    disabled, or the ``should_retry`` hook declined. ``connect()`` may be called again.
    """

    error: WebSocketError
    recoverable: bool


@dataclass(frozen=True)
class Closing:
    """``close()`` is running: the close handshake, then stopping every task."""


ConnectionState = Disconnected | Connecting | Connected | Reconnecting | Failed | Closing
"""Any one of the client states."""
