"""The supervised client, :class:`WebSocketClient`, and its parts (docs/INTERNALS.md).

Platform-neutral: it reaches a platform's connections only through the opener that
:mod:`omniws._platform` chose, and never imports sockets, ssl or JavaScript.
"""

from ..errors import HandlerError
from .contract import Connection, OpenConnection
from .events import EventHandlers
from .retry import RetryCause, RetryHook
from .stats import ClientStats
from .websocket_client import WebSocketClient

__all__ = [
    "ClientStats",
    "Connection",
    "EventHandlers",
    "HandlerError",
    "OpenConnection",
    "RetryCause",
    "RetryHook",
    "WebSocketClient",
]
