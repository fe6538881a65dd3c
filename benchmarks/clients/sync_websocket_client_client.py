"""websocket-client (PyPI ``websocket-client``, module ``websocket``): ``ws.send_binary()`` /
``ws.recv()`` on a blocking socket in the calling thread."""

from __future__ import annotations

from typing import Any

import websocket

from benchmarks.clients import blocking
from benchmarks.common import Params
from benchmarks.tls import client_context


def _open(p: Params) -> tuple[Any, blocking.Send, blocking.Recv]:
    if p.compression:
        raise SystemExit("websocket-client has no permessage-deflate")
    context = client_context(p)
    options = {"context": context} if context else None  # wss://: trust the benchmark CA
    ws = websocket.WebSocket(enable_multithread=False, sslopt=options)
    ws.connect(p.url, timeout=30)
    ws.settimeout(None)
    return ws, ws.send_binary, ws.recv


def run_sync(p: Params) -> dict[str, Any]:
    return blocking.run(p, "websocket-client", _open)
