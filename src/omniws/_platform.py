"""The one place where omniws chooses its platform: Pyodide's WebSocket API in a browser or
Node.js (``sys.platform == "emscripten"``), asyncio sockets everywhere else.

mypy checks both platforms' openers against :data:`omniws.client.OpenConnection`, whichever
platform it runs on.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

__all__ = ["BROWSER", "Connection", "open_connection", "transport"]

BROWSER = sys.platform == "emscripten"
"""True under Pyodide: the browser's (or Node's) WebSocket API is the transport."""

if sys.platform == "emscripten":  # pragma: no cover - exercised by the Pyodide tests
    from .wasm import Connection, open_connection
else:
    from .native import Connection, open_connection


def transport(setting: str = "auto", tls: bool = True) -> str:
    """Which transport a connection whose ``WebSocketConfig.transport`` is ``setting`` uses
    for TLS (``tls=True``, wss://) or plain TCP: ``"fast"`` (aiofastnet,
    ``pip install 'omniws[fast]'``), ``"asyncio"`` (the standard library's, or uvloop's) or,
    under Pyodide, ``"browser"``. ``OMNIWS_TRANSPORT`` decides for ``"auto"``."""
    if sys.platform == "emscripten":  # pragma: no cover - exercised by the Pyodide tests
        return "browser"
    from .native import active_transport

    return active_transport(setting, tls)


if TYPE_CHECKING:
    from .client.contract import OpenConnection
    from .native import open_connection as _native_opener
    from .wasm import open_connection as _wasm_opener

    _OPENERS: tuple[OpenConnection, OpenConnection] = (_native_opener, _wasm_opener)
