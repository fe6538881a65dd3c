"""The Pyodide connection: the platform's ``WebSocket`` (a browser's, or npm ``ws`` in Node).

The same contract as :mod:`omniws.native` (docs/INTERNALS.md), with the differences of the
WebSocket API handled in the open rather than hidden:

- no custom headers (nor ``origin``, nor an ``ssl`` context): ``ConfigError`` at connect;
- no pings from scripts: ``ping()`` raises :class:`WebApiError`; ``WebSocketClient``'s heartbeat
  sends ``config.heartbeat_message`` instead and counts any inbound message as alive;
- ``max_message_size`` is checked when a message has arrived (then close 1009);
- scripts may close only with 1000 or 3000-4999 and a reason of at most 123 UTF-8 bytes;
- a failed opening handshake is not explained by the browser (an HTTP 401 looks like close
  1006): it becomes a recoverable :class:`ConnectionFailed` whose message says so;
- send backpressure by polling ``bufferedAmount`` against ``write_limit``; none on receive.

In a browser, :func:`page_environment` reports the page's network and lifecycle events,
which ``WebSocketClient`` follows (``online``, ``offline``, visibility, freeze, pagehide and
pageshow); Node.js has none.

Every JavaScript callback is a ``create_proxy`` kept alive while the socket lives, destroyed
after its ``close`` event, and guarded: an exception escaping a callback would kill Node.

``recv()`` sleeps on a :class:`~omniws.wasm.waiter.Waiter`, which the ``message`` event
resumes at once instead of two event-loop macrotasks later (docs/BENCHMARKS.md, "In the
browser").
"""

from .checks import check_close, check_config
from .connection import Connection, open_connection
from .environment import BrowserEnvironment, page_environment

__all__ = [
    "BrowserEnvironment",
    "Connection",
    "check_close",
    "check_config",
    "open_connection",
    "page_environment",
]
