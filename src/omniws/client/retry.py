"""The retry policy: how long to wait, and whether to retry at all.

Pure and deterministic given a :class:`random.Random`: no clock, no I/O. The supervisor
(:class:`~omniws.WebSocketClient`) feeds it what happened and when.

Delay of retry ``n`` (1-based, counted since the last connection that stayed up for
``reset_after`` seconds)::

    base  = min(max_delay, initial_delay * multiplier ** (n - 1))
    delay = base * (1 + jitter * uniform(-1, 1))          # +/- jitter, as a fraction
    delay = max(delay, min(retry_after, max_retry_after)) # a server's Retry-After is a floor

So with jitter the delay may exceed ``max_delay`` by up to ``jitter * max_delay``; a
Retry-After above ``max_delay`` is honoured up to ``max_retry_after``, so that a hostile or
misconfigured server cannot park the client for days.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from ..closecodes import is_retried
from ..config import ReconnectConfig
from ..errors import (
    ConfigError,
    ConnectionClosed,
    ConnectionFailed,
    HandshakeRejected,
    WebSocketError,
)
from ..messages import CloseFrame

__all__ = [
    "Backoff",
    "RetryCause",
    "RetryHook",
    "as_error",
    "as_websocket_error",
    "backoff_delay",
    "is_retryable",
    "retry_after_of",
    "should_retry",
]

RetryCause = WebSocketError | CloseFrame
"""What ended a connection or an attempt: an error, or the close frame of a clean close."""

RetryHook = Callable[[RetryCause], "bool | None"]
"""``should_retry(cause) -> True | False | None``; None leaves the decision to the default."""


def backoff_delay(config: ReconnectConfig, attempt: int, rng: random.Random | None = None) -> float:
    """The jittered delay in seconds before retry number ``attempt`` (1 for the first)."""
    if attempt < 1:
        raise ValueError(f"attempt must be >= 1, got {attempt}")
    initial, cap = config.initial_delay, config.max_delay
    try:
        raw = initial * float(config.multiplier) ** (attempt - 1)
    except OverflowError:
        raw = cap
    base = min(cap, raw)
    if config.jitter and base > 0:
        base *= 1.0 + config.jitter * (2.0 * (rng or random).random() - 1.0)
    return max(0.0, base)


class Backoff:
    """The retry counter and delay sequence of one client.

    ``next_delay()`` counts a retry and returns how long to wait before it;
    ``exhausted`` tells when ``max_attempts`` retries in a row have been made;
    ``connection_ended(uptime)`` starts the sequence over when the connection that just
    ended stayed up for at least ``reset_after`` seconds.
    """

    def __init__(self, config: ReconnectConfig, rng: random.Random | None = None) -> None:
        self.config = config
        self.rng = rng if rng is not None else random.Random()  # noqa: S311 - jitter
        self.attempt = 0
        """Retries made in the current sequence (0 before the first retry)."""

    @property
    def exhausted(self) -> bool:
        """True when another retry would exceed ``max_attempts``."""
        limit = self.config.max_attempts
        return limit is not None and self.attempt >= limit

    def next_delay(self, retry_after: float | None = None) -> float:
        """Count one more retry and return the seconds to wait before it.

        ``retry_after`` (a server's Retry-After, in seconds) is a lower bound, honoured up to
        ``max_retry_after``.
        """
        self.attempt += 1
        delay = backoff_delay(self.config, self.attempt, self.rng)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.config.max_retry_after))
        return delay

    def connection_ended(self, uptime: float) -> None:
        """A connection that had opened ended after ``uptime`` seconds."""
        if uptime >= self.config.reset_after:
            self.reset()

    def reset(self) -> None:
        """Start the delay sequence (and the ``max_attempts`` count) over."""
        self.attempt = 0


def retry_after_of(cause: RetryCause) -> float | None:
    """The server's Retry-After in seconds carried by ``cause``, if any."""
    if isinstance(cause, HandshakeRejected):
        return cause.retry_after
    return None


def is_retryable(cause: RetryCause, *, retry_on_normal_close: bool = True) -> bool:
    """The default decision: may connecting again help after ``cause``?

    Retried: refused and dropped connections, timeouts, HTTP 5xx and 429, protocol errors,
    close codes 1006, 1011-1014 and (if ``retry_on_normal_close``) 1000, 1001, 1005.
    Not retried: HTTP 4xx other than 429, an invalid URL or any config error, a failed TLS
    certificate check, and every other close code (1002, 1003, 1007-1010, 1015, 3000-4999).
    """
    if isinstance(cause, CloseFrame | ConnectionClosed):
        return is_retried(cause.code, retry_on_normal_close=retry_on_normal_close)
    if isinstance(cause, ConfigError):
        return False
    return bool(cause.recoverable)


def should_retry(
    cause: RetryCause,
    config: ReconnectConfig | None,
    *,
    closed_by_us: bool = False,
    hook: RetryHook | None = None,
) -> bool:
    """The full decision: never after a close the application asked for, never when
    reconnection is disabled (``config`` None) or for a config error; otherwise the
    ``hook``'s answer if it gives one (True/False), else :func:`is_retryable`.

    An exception from ``hook`` propagates; the client reports it and decides without it.
    """
    if closed_by_us or config is None or isinstance(cause, ConfigError):
        return False
    if hook is not None:
        verdict = hook(cause)
        if verdict is not None:
            return bool(verdict)
    return is_retryable(cause, retry_on_normal_close=config.retry_on_normal_close)


def as_error(cause: RetryCause) -> WebSocketError:
    """``cause`` as the error of a ``Failed`` state (a close frame as ConnectionClosed)."""
    if isinstance(cause, CloseFrame):
        return ConnectionClosed(cause.code, cause.reason)
    return cause


def as_websocket_error(exc: BaseException) -> WebSocketError:
    """``exc`` as a :class:`WebSocketError`, for exceptions an opener let escape.

    ``OSError`` (refused, reset, DNS) is recoverable; anything else is an unexpected failure,
    reported and not retried. (A platform turns its own TLS certificate failures into a
    ConnectionFailed that is not recoverable before they get here.)
    """
    if isinstance(exc, WebSocketError):
        return exc
    error: WebSocketError
    if isinstance(exc, OSError):
        error = ConnectionFailed(f"could not connect: {exc}", recoverable=True)
    else:
        error = ConnectionFailed(f"unexpected error while connecting: {exc!r}", recoverable=False)
    error.__cause__ = exc
    return error
