"""The one close-code policy: which codes end a stream normally, which are retried, and
which codes each platform lets the application send.

Every part of omniws asks this module; none compares close codes on its own. The wire rule
(which codes may appear in a close frame at all, RFC 6455 7.4) belongs to the protocol core
and is reused here.
"""

from __future__ import annotations

from .messages import CloseCode
from .protocol.control import check_close_code

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

_BROWSER_CODES = frozenset({1000, *range(3000, 5000)})
_BROWSER_RULE = "1000 or an application code from 3000 to 4999 (the browser refuses others)"


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
    WebSocket API of browsers and Node.js) or the reason is not 123 UTF-8 bytes or fewer.
    """
    is_int = isinstance(code, int) and not isinstance(code, bool)
    if browser and is_int and code not in _BROWSER_CODES:
        raise ValueError(f"close code {code} cannot be sent: use {_BROWSER_RULE}")
    return check_close_code(code, reason)
