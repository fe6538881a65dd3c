"""omniws: one async WebSocket client for CPython (asyncio or trio) and Pyodide that stays
connected by itself."""

from ._connect import Connection, connect
from ._platform import implementation
from ._version import __version__
from .client import ClientStats, EventHandlers, WebSocketClient
from .config import CompressionConfig, ReconnectConfig, WebSocketConfig
from .errors import (
    ConfigError,
    ConnectionClosed,
    ConnectionFailed,
    HandlerError,
    HandshakeRejected,
    MessageTooLarge,
    ProtocolError,
    WebApiError,
    WebSocketError,
    WebSocketTimeout,
)
from .messages import CloseCode, CloseFrame, Data, Message
from .state import (
    Closing,
    Connected,
    Connecting,
    ConnectionState,
    Disconnected,
    Failed,
    Reconnecting,
)

__all__ = [
    "ClientStats",
    "CloseCode",
    "CloseFrame",
    "Closing",
    "CompressionConfig",
    "ConfigError",
    "Connected",
    "Connecting",
    "Connection",
    "ConnectionClosed",
    "ConnectionFailed",
    "ConnectionState",
    "Data",
    "Disconnected",
    "EventHandlers",
    "Failed",
    "HandlerError",
    "HandshakeRejected",
    "Message",
    "MessageTooLarge",
    "ProtocolError",
    "ReconnectConfig",
    "Reconnecting",
    "WebApiError",
    "WebSocketClient",
    "WebSocketConfig",
    "WebSocketError",
    "WebSocketTimeout",
    "__version__",
    "connect",
    "implementation",
]
