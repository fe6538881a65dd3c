"""The one place where omniws chooses its platform: Pyodide's WebSocket API in a browser or
Node.js (``sys.platform == "emscripten"``), asyncio sockets everywhere else.

mypy checks both platforms' openers against :data:`omniws.client.OpenConnection`, whichever
platform it runs on.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

__all__ = ["BROWSER", "Connection", "open_connection"]

BROWSER = sys.platform == "emscripten"
"""True under Pyodide: the browser's (or Node's) WebSocket API is the transport."""

if sys.platform == "emscripten":  # pragma: no cover - exercised by the Pyodide tests
    from .wasm import Connection, open_connection
else:
    from .native import Connection, open_connection

if TYPE_CHECKING:
    from .client.contract import OpenConnection
    from .native import open_connection as _native_opener
    from .wasm import open_connection as _wasm_opener

    _OPENERS: tuple[OpenConnection, OpenConnection] = (_native_opener, _wasm_opener)
