"""The one close-code policy: which codes end a stream normally, which are retried, and
which codes each platform lets the application send.

Every part of omniws asks this module; none compares close codes on its own. The wire rule
(which codes may appear in a close frame at all, RFC 6455 7.4) belongs to the protocol core
and is reused here.
"""

from __future__ import annotations

from .messages import CloseCode
from .protocol.connection import is_valid_close_code

__all__ = [
    "CLEAN_CLOSE_CODES",
    "RETRIED_CLOSE_CODES",
    "check_close",
    "ends_normally",
    "is_retried",
]

CLEAN_CLOSE_CODES = frozenset(
    {CloseCode.NORMAL_CLOSURE, CloseCode.GOING_AWAY, CloseCode.NO_STATUS_RECEIVED}
)
"""A clean close: 1000, 1001, and 1005 (a close frame that carried no code, which is how
many servers say "normal"). Iteration over a connection or a client ends without an error;
a client that does not retry it ends ``Disconnected`` rather than ``Failed``. Retried only
when ``ReconnectConfig.retry_on_normal_close`` is true (proxies and restarting servers send
them)."""

RETRIED_CLOSE_CODES = frozenset(
    {
        CloseCode.ABNORMAL_CLOSURE,  # 1006: dropped without a close frame
        CloseCode.INTERNAL_ERROR,  # 1011
        CloseCode.SERVICE_RESTART,  # 1012
        CloseCode.TRY_AGAIN_LATER,  # 1013
        CloseCode.BAD_GATEWAY,  # 1014
    }
)
"""Close codes that are always retried: a transient failure on the server's side. Every
other code (1002, 1003, 1007-1010, 1015, 3000-4999) is final unless a ``should_retry`` hook
says otherwise."""

_BROWSER_RULE = "1000 or an application code from 3000 to 4999 (the browser refuses others)"
_NATIVE_RULE = "1000 (normal), 1001 (going away), 1002-1003, 1007-1014, or 3000-4999"
MAX_REASON_BYTES = 123
"""A close frame's payload is at most 125 bytes, two of which are the code (RFC 6455 5.5)."""


def ends_normally(code: int) -> bool:
    """True when a connection closed with ``code`` ended cleanly (iteration just stops)."""
    return code in CLEAN_CLOSE_CODES


def is_retried(code: int, *, retry_on_normal_close: bool) -> bool:
    """The default retry decision for a connection that ended with close ``code``."""
    if code in CLEAN_CLOSE_CODES:
        return retry_on_normal_close
    return code in RETRIED_CLOSE_CODES


def check_close(code: object, reason: object, *, browser: bool = False) -> bytes:
    """Validate a close the application asked for; return the reason as UTF-8.

    Raises TypeError when ``code`` is not an int or ``reason`` not a str, and ValueError
    naming the rule when the code may not be sent from this platform (``browser``: the
    WebSocket API of browsers and Node.js) or the reason is longer than 123 UTF-8 bytes.
    """
    if not isinstance(code, int) or isinstance(code, bool):
        raise TypeError(f"close code must be an int such as 1000, got {code!r}")
    if not isinstance(reason, str):
        raise TypeError(f"close reason must be a str, got {type(reason).__name__}")
    allowed = code == 1000 or 3000 <= code <= 4999 if browser else is_valid_close_code(code)
    if not allowed:
        rule = _BROWSER_RULE if browser else _NATIVE_RULE
        raise ValueError(f"close code {code} cannot be sent: use {rule}")
    encoded = reason.encode()
    if len(encoded) > MAX_REASON_BYTES:
        raise ValueError(
            f"close reason is {len(encoded)} bytes in UTF-8; the limit is "
            f"{MAX_REASON_BYTES} UTF-8 bytes (RFC 6455 5.5): shorten it"
        )
    return encoded
