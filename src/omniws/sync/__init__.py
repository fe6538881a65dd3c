"""omniws for threaded code: the same API without ``await``.

``omniws.sync.connect(url)`` opens one connection; ``omniws.sync.WebSocketClient(url)`` is a
client that reconnects by itself. Each runs the async implementation on a private event loop
(so retry, heartbeat and state logic exist once) with a background thread of its own, hands
messages to the calling threads through a thread-safe queue, and ends that thread on
``close()``. Every method may be called from any thread. The errors are those of
:mod:`omniws`.

Under Pyodide this module imports, but using it raises :class:`~omniws.WebApiError`: the
browser's event loop cannot block.
"""

from __future__ import annotations

from .client import WebSocketClient
from .connection import Connection, connect

__all__ = ["Connection", "WebSocketClient", "connect"]
