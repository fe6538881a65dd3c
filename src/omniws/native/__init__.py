"""The CPython platform: asyncio transports, TLS, and the opening handshake.

``opening`` connects (TCP, TLS, HTTP upgrade) and hands the transport to a ``Connection``,
which drives the sans-I/O core for the rest of the connection's life.
"""

from .connection import Connection
from .opening import open_connection

__all__ = ["Connection", "open_connection"]
