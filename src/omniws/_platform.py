"""The one place where omniws chooses its platform: Pyodide's WebSocket API in a browser or
Node.js (``sys.platform == "emscripten"``), everywhere else asyncio's sockets or, when called
under ``trio.run``, trio's streams (:mod:`omniws.trio_io`, imported only then).

mypy checks both platforms' openers against :data:`omniws.client.OpenConnection`, and both
platforms' page environments against :class:`omniws.client.environment.Environment`,
whichever platform it runs on.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Literal, cast

from . import _runtime
from .config import WebSocketConfig
from .protocol._accel import implementation as core_implementation

__all__ = [
    "BROWSER",
    "Connection",
    "implementation",
    "open_connection",
    "page_environment",
    "transport",
]

BROWSER = sys.platform == "emscripten"
"""True under Pyodide: the browser's (or Node's) WebSocket API is the transport."""

if sys.platform == "emscripten":  # pragma: no cover - exercised by the Pyodide tests
    from .wasm import Connection, open_connection
    from .wasm import page_environment as _page_environment
else:
    from .native import Connection
    from .native import open_connection as _open_on_asyncio

    async def open_connection(config: WebSocketConfig) -> Connection:
        """Open a connection with asyncio's sockets, or trio's streams under ``trio.run``."""
        if _runtime.under_trio():
            from .trio_io import open_connection as open_on_trio

            # omniws.trio_io.Connection: the same public methods (tests/trio checks it)
            return cast(Connection, await open_on_trio(config))
        return await _open_on_asyncio(config)

    def _page_environment() -> Environment | None:
        return None  # CPython has no page


def page_environment() -> Environment | None:
    """The page's network and lifecycle events (a browser under Pyodide), or None (CPython,
    Node.js): what ``WebSocketClient`` follows unless ``browser_lifecycle`` is off."""
    return _page_environment()


def transport(setting: str = "auto", tls: bool = True) -> str:
    """Which transport a connection whose ``WebSocketConfig.transport`` is ``setting`` uses
    for TLS (``tls=True``, wss://) or plain TCP: ``"fast"`` (aiofastnet,
    ``pip install 'omniws[fast]'``), ``"asyncio"`` (the standard library's, or uvloop's) or,
    under Pyodide, ``"browser"``. ``OMNIWS_TRANSPORT`` decides for ``"auto"``."""
    if sys.platform == "emscripten":  # pragma: no cover - exercised by the Pyodide tests
        return "browser"
    from .native import active_transport

    return active_transport(setting, tls)


def implementation(part: Literal["core", "tls", "tcp"] = "core") -> str:
    """Which implementation omniws uses here. ``"core"``: the protocol core, ``"compiled"``
    (the C accelerator) or ``"python"``; ``"tls"`` / ``"tcp"``: the transport of wss:// /
    ws:// connections with the default config, ``"fast"`` (aiofastnet), ``"asyncio"`` or, under
    Pyodide, ``"browser"``."""
    if part == "core":
        return core_implementation()
    if part not in ("tls", "tcp"):
        raise ValueError(f"part must be 'core', 'tls' or 'tcp', got {part!r}")
    return transport("auto", tls=part == "tls")


if TYPE_CHECKING:
    from collections.abc import Callable

    from .client.contract import OpenConnection
    from .client.environment import Environment
    from .native import open_connection as _native_opener
    from .trio_io import open_connection as _trio_opener
    from .wasm import open_connection as _wasm_opener
    from .wasm import page_environment as _wasm_environment

    _OPENERS: tuple[OpenConnection, ...] = (_native_opener, _wasm_opener, _trio_opener)
    _ENVIRONMENTS: tuple[Callable[[], Environment | None], ...] = (_wasm_environment,)
