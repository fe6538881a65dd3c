"""The one place where omniws chooses its platform: Pyodide's WebSocket API in a browser or
Node.js (``sys.platform == "emscripten"``), asyncio sockets everywhere else.

mypy checks both platforms' openers against :data:`omniws.client.OpenConnection`, and both
platforms' page environments against :class:`omniws.client.environment.Environment`,
whichever platform it runs on.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

__all__ = ["BROWSER", "Connection", "open_connection", "page_environment"]

BROWSER = sys.platform == "emscripten"
"""True under Pyodide: the browser's (or Node's) WebSocket API is the transport."""

if sys.platform == "emscripten":  # pragma: no cover - exercised by the Pyodide tests
    from .wasm import Connection, open_connection
    from .wasm import page_environment as _page_environment
else:
    from .native import Connection, open_connection

    def _page_environment() -> Environment | None:
        return None  # CPython has no page


def page_environment() -> Environment | None:
    """The page's network and lifecycle events (a browser under Pyodide), or None (CPython,
    Node.js): what ``WebSocketClient`` follows unless ``browser_lifecycle`` is off."""
    return _page_environment()


if TYPE_CHECKING:
    from collections.abc import Callable

    from .client.contract import OpenConnection
    from .client.environment import Environment
    from .native import open_connection as _native_opener
    from .wasm import open_connection as _wasm_opener
    from .wasm import page_environment as _wasm_environment

    _OPENERS: tuple[OpenConnection, OpenConnection] = (_native_opener, _wasm_opener)
    _ENVIRONMENTS: tuple[Callable[[], Environment | None], ...] = (_wasm_environment,)
