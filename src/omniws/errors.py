"""The omniws exception hierarchy.

Every error says what happened and what the user can do about it, and carries
``recoverable``: whether a supervised client should try to connect again.
"""

from __future__ import annotations

import email.utils
import math
from collections.abc import Callable, Mapping
from datetime import datetime, timezone

__all__ = [
    "ConfigError",
    "ConnectionClosed",
    "ConnectionFailed",
    "HandlerError",
    "HandshakeRejected",
    "MessageTooLarge",
    "ProtocolError",
    "WebApiError",
    "WebSocketError",
    "WebSocketTimeout",
]


class WebSocketError(Exception):
    """Base class of every error omniws raises.

    ``recoverable`` tells whether connecting again may succeed: the supervisor in
    :class:`omniws.WebSocketClient` retries recoverable errors and stops on the others.
    """

    recoverable: bool = False

    def __init__(self, message: str, *, recoverable: bool | None = None) -> None:
        super().__init__(message)
        if recoverable is not None:
            self.recoverable = recoverable


class ConfigError(WebSocketError, ValueError):
    """A configuration value is invalid; the message names the field and the fix."""

    recoverable = False

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


class ConnectionFailed(WebSocketError):
    """The connection could not be opened (DNS, TCP, TLS, proxy or handshake)."""

    recoverable = True


class HandshakeRejected(ConnectionFailed):
    """The server answered the opening handshake with an HTTP status other than 101.

    ``status``, ``headers`` and the start of ``body`` are kept for inspection. 5xx and
    429 are recoverable (``retry_after`` holds the server's Retry-After in seconds, if any);
    other 4xx are not, since the same request will be refused again.
    """

    def __init__(
        self, status: int, reason: str, headers: Mapping[str, str], body: bytes = b""
    ) -> None:
        self.status = status
        self.reason = reason
        self.headers = dict(headers)
        self.body = body
        self.retry_after = _parse_retry_after(self.headers.get("retry-after"))
        recoverable = status >= 500 or status == 429
        hint = (
            "the server may accept a later attempt"
            if recoverable
            else "check the URL, credentials and headers; retrying will not help"
        )
        super().__init__(
            f"server rejected the WebSocket handshake with HTTP {status} {reason}: {hint}",
            recoverable=recoverable,
        )


def _parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After (RFC 9110 10.2.3) in seconds: delay-seconds (digits only) or an HTTP-date
    (seconds from ``now``, at least 0). Anything else (negative, fractional, ``inf``) is
    ignored, so the client's own backoff applies. The client caps what it honours at
    ``ReconnectConfig.max_retry_after``."""
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP-date is always GMT
        when = when.replace(tzinfo=timezone.utc)
    seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


class ProtocolError(WebSocketError):
    """The peer broke RFC 6455 or RFC 7692; the connection was failed with ``close_code``."""

    recoverable = True

    def __init__(self, message: str, *, close_code: int = 1002) -> None:
        super().__init__(message)
        self.close_code = close_code


class MessageTooLarge(ProtocolError):
    """A message exceeded ``max_message_size``; the connection was closed with 1009."""

    def __init__(self, size: int, max_size: int) -> None:
        super().__init__(
            f"message of at least {size} bytes exceeds max_message_size={max_size}; "
            "raise max_message_size if such messages are expected",
            close_code=1009,
        )
        self.size = size
        self.max_size = max_size


class ConnectionClosed(WebSocketError):
    """The connection is closed; ``code`` and ``reason`` are those of the close frame.

    Code 1006 means the connection dropped without a close handshake.
    """

    recoverable = True

    def __init__(self, code: int, reason: str = "", *, detail: str = "") -> None:
        text = f"connection closed with code {code}"
        if reason:
            text += f" ({reason!r})"
        if detail:
            text += f": {detail}"
        super().__init__(text)
        self.code = code
        self.reason = reason


class WebSocketTimeout(WebSocketError, TimeoutError):
    """An operation did not finish in time; ``operation`` names it (connect, close, ...)."""

    recoverable = True

    def __init__(self, operation: str, timeout: float, *, hint: str = "") -> None:
        text = f"{operation} timed out after {timeout:g} s"
        if hint:
            text += f": {hint}"
        super().__init__(text)
        self.operation = operation
        self.timeout = timeout


class WebApiError(WebSocketError):
    """The browser's (or Node's) WebSocket API reported a failure (Pyodide only)."""

    recoverable = True


class HandlerError(WebSocketError):
    """An event handler raised; the original exception is ``__cause__``.

    Reported to ``on_error`` and the log; the client keeps running.
    """

    recoverable = True

    def __init__(self, event: str, handler: Callable[..., object], exc: BaseException) -> None:
        name = getattr(handler, "__qualname__", repr(handler))
        super().__init__(f"{event} handler {name} raised {exc!r}; the client keeps running")
        self.event = event
        self.handler = handler
        self.__cause__ = exc
