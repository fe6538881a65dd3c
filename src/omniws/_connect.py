"""``omniws.connect()``: one connection, no supervision, on whichever platform this is."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from ._platform import Connection, open_connection
from .config import WebSocketConfig
from .errors import ConfigError

__all__ = ["Connection", "connect", "open_connection"]


class connect:
    """Open one WebSocket connection, without reconnection or heartbeat.

    ``await connect(url, **options)`` returns the open connection;
    ``async with connect(url, **options) as ws:`` also closes it on exit. The options are
    the fields of :class:`~omniws.WebSocketConfig`; a ready config can be passed as
    ``connect(config=...)``. For a connection that survives drops and restarts, use
    :class:`~omniws.WebSocketClient`.

    A missing or invalid URL (None, bytes, a number, "", another scheme) raises
    :class:`~omniws.ConfigError` (a ``ValueError``) before any I/O.
    """

    def __init__(
        self, url: str | None = None, *, config: WebSocketConfig | None = None, **options: Any
    ) -> None:
        if config is None:
            if url is None:  # connect() and connect(None) alike: the URL is the problem
                raise ConfigError(
                    "url",
                    "is missing; connect() needs a ws:// or wss:// URL, e.g. "
                    "connect('ws://127.0.0.1:8765/'), or config=WebSocketConfig(...)",
                )
            config = WebSocketConfig(url=url, **options)
        elif not isinstance(config, WebSocketConfig):
            raise ConfigError("config", f"must be a WebSocketConfig, got {type(config).__name__}")
        elif url is not None or options:
            raise TypeError("pass either a config or a URL with options to connect(), not both")
        self.config = config
        self._connection: Connection | None = None

    def __await__(self) -> Generator[Any, None, Connection]:
        return open_connection(self.config).__await__()

    async def __aenter__(self) -> Connection:
        self._connection = await open_connection(self.config)
        return self._connection

    async def __aexit__(self, *exc_info: object) -> None:
        if self._connection is not None:
            await self._connection.close()
