"""``omniws.connect()``: one connection, no supervision, on whichever platform this is."""

from __future__ import annotations

import inspect
from collections.abc import Generator, Mapping, Sequence
from ssl import SSLContext
from typing import Any, Literal

from ._platform import Connection, open_connection
from ._validate import Duration
from .config import DEFAULT_USER_AGENT, CompressionConfig, WebSocketConfig
from .errors import ConfigError

__all__ = ["Connection", "Opening", "connect", "open_connection"]


class Opening:
    """A connection being opened: ``await`` it for the :class:`Connection`, or use it as
    ``async with`` to also close the connection on exit. Returned by :func:`connect`."""

    def __init__(self, config: WebSocketConfig) -> None:
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


def connect(
    url: str | None = None,
    *,
    config: WebSocketConfig | None = None,
    protocols: Sequence[str] = (),
    headers: Mapping[str, str] | None = None,
    connect_timeout: Duration | None = 30.0,
    close_timeout: Duration = 10.0,
    max_message_size: int | None = 64 * 1024 * 1024,
    compression: bool | CompressionConfig = True,
    ssl: SSLContext | None = None,
    origin: str | None = None,
    user_agent: str | None = DEFAULT_USER_AGENT,
    max_queue: int = 1024,
    write_limit: int = 64 * 1024,
    proxy: str | None = None,
    proxy_from_env: bool = True,
    proxy_ssl: SSLContext | None = None,
    max_redirects: int = 5,
    transport: Literal["auto", "asyncio", "fast"] = "auto",
) -> Opening:
    """Open one WebSocket connection, without reconnection or heartbeat.

    ``ws = await connect(url)`` returns the open :class:`Connection`;
    ``async with connect(url) as ws:`` also closes it on exit. The connection has
    ``send(str | bytes)``, ``recv()`` (str for text, bytes for binary), ``async for``,
    ``ping()`` (the round-trip time), ``close(code, reason)``, ``wait_closed()``,
    ``send_nowait()``, and ``subprotocol``, ``response_headers``, ``close_code``.

    Under ``asyncio.run`` it uses asyncio's sockets, under ``trio.run`` trio's streams
    (``pip install 'omniws[trio]'``), under Pyodide the platform's WebSocket; the connection
    has the same methods everywhere.

    The options mean what the fields of :class:`~omniws.WebSocketConfig` of the same names
    mean; ``config=`` passes a ready config instead of a URL and options. For a connection
    that survives drops and restarts, with a heartbeat, use :class:`~omniws.WebSocketClient`.

    A missing or invalid URL or option raises :class:`~omniws.ConfigError` (a
    ``ValueError``) before any I/O; opening raises :class:`~omniws.ConnectionFailed`
    (:class:`~omniws.HandshakeRejected` for an HTTP answer) or
    :class:`~omniws.WebSocketTimeout` naming the stage that stalled.
    """
    if config is not None:
        if not isinstance(config, WebSocketConfig):
            raise ConfigError("config", f"must be a WebSocketConfig, got {type(config).__name__}")
        given = {k: v for k, v in locals().items() if k in _DEFAULTS and v != _DEFAULTS[k]}
        if url is not None or given:
            raise TypeError(
                f"pass either config= or a URL with options to connect(), not both (got {url=} "
                f"and {sorted(given)})"
            )
        return Opening(config)
    if url is None:  # connect() and connect(None) alike: the URL is the problem
        raise ConfigError(
            "url",
            "is missing; connect() needs a ws:// or wss:// URL, e.g. "
            "connect('ws://127.0.0.1:8765/'), or config=WebSocketConfig(...)",
        )
    return Opening(
        WebSocketConfig(
            url,
            protocols=protocols,
            headers={} if headers is None else headers,
            connect_timeout=connect_timeout,
            close_timeout=close_timeout,
            max_message_size=max_message_size,
            compression=compression,
            ssl=ssl,
            origin=origin,
            user_agent=user_agent,
            max_queue=max_queue,
            write_limit=write_limit,
            proxy=proxy,
            proxy_from_env=proxy_from_env,
            proxy_ssl=proxy_ssl,
            max_redirects=max_redirects,
            transport=transport,
        )
    )


_DEFAULTS = {
    name: parameter.default
    for name, parameter in inspect.signature(connect).parameters.items()
    if name not in ("url", "config")
}
