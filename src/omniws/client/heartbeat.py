"""The heartbeat: finds a dead connection by its silence, without blaming a slow reader."""

from __future__ import annotations

import logging
from collections.abc import Callable

from .. import _runtime
from .._runtime import TIMEOUT_ERRORS, Signal
from ..errors import WebApiError, WebSocketError, WebSocketTimeout
from .contract import Connection

__all__ = ["heartbeat"]

logger = logging.getLogger("omniws.client")
_warned_no_ping = False  # the "no heartbeat_message where ping() is unsupported" warning
_CLOCK_SLACK = 1e-6  # seconds: a silence this close to the interval has lasted it
_SETTLE = 0.05  # seconds: events queued behind a late timer are handled before judging
_LATE = 0.25  # a deadline timer later than this fraction of the timeout saw a stalled page


async def heartbeat(
    conn: Connection,
    interval: float,
    timeout: float,
    behind: Callable[[Connection], bool],
    on_rtt: Callable[[float], None],
    message: str | bytes | None = None,
    nudged: Callable[[], Signal] | None = None,
) -> WebSocketTimeout | None:
    """Ping ``conn`` after ``interval`` seconds without inbound data. When neither a pong nor
    any other data arrives within ``timeout``, abort it and return the error; return None when
    the connection ends otherwise. Pauses while ``behind(conn)``: the reader, not the peer, is
    slow then. With a ``message`` (``config.heartbeat_message``) the message is sent instead
    of a ping and any inbound data counts as alive; that is the only heartbeat where
    ``ping()`` is not supported (Pyodide).

    Late timers (a hidden page, a busy main thread) never make a healthy connection look
    dead: a message probe is judged only after the events queued meanwhile were handled, and
    a deadline that fired late gives the peer one more full ``timeout``. ``nudged()`` (the
    page became visible or resumed) is a signal that makes it probe at once."""
    runtime = _runtime.current()
    probe_now = False
    try:
        while conn.close_code is None:
            remaining = interval - (runtime.time() - conn.last_received)
            # a float remainder below the slack would wake up at once
            if remaining > _CLOCK_SLACK and not probe_now:
                probe_now = await _nap(remaining, nudged)
                continue
            probe_now = False
            if behind(conn):
                await runtime.sleep(interval)
                continue
            sent = runtime.time()
            try:
                if message is None:
                    on_rtt(await runtime.timeout(conn.ping(), timeout))
                    continue
                await conn.send(message)
                if not await _answered(conn, sent, timeout):
                    raise TimeoutError
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
            except TIMEOUT_ERRORS:
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


async def _nap(seconds: float, nudged: Callable[[], Signal] | None) -> bool:
    """Sleep ``seconds``; return True when nudged earlier."""
    runtime = _runtime.current()
    if nudged is None:
        await runtime.sleep(seconds)
        return False
    nudge = nudged()
    await runtime.wait_all((nudge,), seconds)
    return nudge.done()


async def _answered(conn: Connection, sent: float, timeout: float) -> bool:
    """Whether anything arrived on ``conn`` since ``sent`` (or it ended) within ``timeout``.

    Events queued while the deadline timer was late are handled first; a deadline that fired
    late (a stalled page) gives one more full ``timeout``, once: message events are not
    throttled in hidden pages, so a second late deadline with nothing received is a dead
    connection."""
    runtime = _runtime.current()
    deadline = sent + timeout
    for extra_window in (True, False):
        await runtime.sleep(max(0.0, deadline - runtime.time()))
        if conn.last_received >= sent or conn.close_code is not None:
            return True
        await runtime.sleep(_SETTLE)  # messages that queued up behind a late timer go first
        if conn.last_received >= sent or conn.close_code is not None:
            return True
        if not extra_window or runtime.time() - deadline <= _SETTLE + _LATE * timeout:
            return False
        deadline = runtime.time() + timeout
    return False  # pragma: no cover - the loop returns
