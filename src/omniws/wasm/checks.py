"""What the browser's WebSocket API cannot do, refused up front (never silently dropped).

Platform-neutral: these checks import on CPython too, so they are tested there.
"""

from __future__ import annotations

from .. import closecodes
from ..config import WebSocketConfig
from ..errors import ConfigError

__all__ = ["FAILED_HINT", "check_close", "check_config"]

FAILED_HINT = (
    "the browser reports no reason for a failed opening handshake: the server may be down "
    "or unreachable, or it may have refused the upgrade (an HTTP 401/403 looks the same "
    "here, close code 1006), so the failure is treated as recoverable. A server can make "
    "an authentication failure terminal by accepting the connection and then closing it "
    "with a 4xxx code (e.g. 4001), which WebSocketClient does not retry"
)


def check_config(config: WebSocketConfig) -> None:
    """Raise ConfigError for what a WebSocket in a browser cannot do (never drop it)."""
    if config.headers:
        raise ConfigError(
            "headers",
            f"{sorted(config.headers)} cannot be sent: the browser's WebSocket API sends no "
            "custom headers. Pass a token as a subprotocol (protocols=[...]) or in the URL "
            "query (?token=...) instead, or authenticate in the first message",
        )
    if config.origin is not None:
        raise ConfigError("origin", "cannot be set: the browser sends the page's own Origin")
    if config.ssl is not None:
        raise ConfigError("ssl", "cannot be used: the browser verifies wss:// with its own trust")
    if config.proxy is not None:
        raise ConfigError("proxy", "cannot be set: the browser connects through its own proxy")


def check_close(code: object, reason: object) -> None:
    """Raise for a close the WebSocket API refuses: ValueError unless the code is 1000 or
    3000-4999 and the reason at most 123 UTF-8 bytes, TypeError for other types
    (:func:`omniws.closecodes.check_close` with ``browser=True``)."""
    closecodes.check_close(code, reason, browser=True)
