"""omniws.sync: ``ws.send()`` / ``ws.recv()`` from the calling thread; the connection runs on
omniws' own background event-loop thread (its CPU is counted: process time covers every
thread)."""

from __future__ import annotations

from typing import Any

import omniws.sync
from benchmarks.clients import blocking
from benchmarks.common import MAX_SIZE, Params
from benchmarks.tls import client_context


def _open(p: Params) -> tuple[Any, blocking.Send, blocking.Recv]:
    ws = omniws.sync.connect(
        p.url,
        compression=p.compression,
        max_message_size=MAX_SIZE,
        connect_timeout=30,
        ssl=client_context(p),
    )
    return ws, ws.send, ws.recv


def run_sync(p: Params) -> dict[str, Any]:
    return blocking.run(p, "omniws.sync", _open)
