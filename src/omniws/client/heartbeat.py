"""The heartbeat: finds a dead connection by its silence, without blaming a slow reader."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from ..errors import WebApiError, WebSocketError, WebSocketTimeout
from .contract import Connection

__all__ = ["heartbeat"]

logger = logging.getLogger("omniws.client")
_warned_no_ping = False  # the "no heartbeat_message where ping() is unsupported" warning
_CLOCK_SLACK = 1e-6  # seconds: a silence this close to the interval has lasted it


async def heartbeat(
    conn: Connection,
    interval: float,
    timeout: float,
    behind: Callable[[Connection], bool],
    on_rtt: Callable[[float], None],
    message: str | bytes | None = None,
) -> WebSocketTimeout | None:
    """Ping ``conn`` after ``interval`` seconds without inbound data. When neither a pong nor
    any other data arrives within ``timeout``, abort it and return the error; return None when
    the connection ends otherwise. Pauses while ``behind(conn)``: the reader, not the peer, is
    slow then. With a ``message`` (``config.heartbeat_message``) the message is sent instead
    of a ping and any inbound data counts as alive; that is the only heartbeat where
    ``ping()`` is not supported (Pyodide)."""
    loop = asyncio.get_running_loop()
    try:
        while conn.close_code is None:
            remaining = interval - (loop.time() - conn.last_received)
            if remaining > _CLOCK_SLACK:  # a float remainder below it would wake up at once
                await asyncio.sleep(remaining)
                continue
            if behind(conn):
                await asyncio.sleep(interval)
                continue
            sent = loop.time()
            try:
                if message is None:
                    on_rtt(await asyncio.wait_for(conn.ping(), timeout))
                    continue
                await conn.send(message)
                await asyncio.sleep(timeout)
                if conn.last_received < sent and conn.close_code is None:
                    raise asyncio.TimeoutError
            except (WebApiError, NotImplementedError) as exc:  # no pings here (Pyodide)
                if conn.close_code is not None:
                    break
                global _warned_no_ping
                if not _warned_no_ping:
                    _warned_no_ping = True
                    logger.warning(
                        "heartbeat disabled: %s; set WebSocketConfig(heartbeat_message=...) to "
                        "an application message the server answers to detect dead connections",
                        exc,
                    )
                return None
            except asyncio.TimeoutError:
                if conn.last_received >= sent or behind(conn):
                    continue
                hint = "no pong nor any other data arrived: the connection is dead"
                error = WebSocketTimeout("heartbeat", timeout, hint=hint)
                logger.warning("%s; reconnecting", error)
                conn.abort()
                return error
    except WebSocketError:
        pass  # the connection ended; the supervisor sees it
    return None
