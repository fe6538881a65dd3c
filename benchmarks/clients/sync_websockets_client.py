"""websockets.sync.client: ``ws.send()`` / ``ws.recv()`` (a reader thread of its own; its CPU
is counted: process time covers every thread)."""

from __future__ import annotations

from typing import Any

from websockets.sync.client import connect

from benchmarks.clients import blocking
from benchmarks.common import MAX_SIZE, Params
from benchmarks.tls import client_context


def _open(p: Params) -> tuple[Any, blocking.Send, blocking.Recv]:
    ws = connect(
        p.url,
        compression="deflate" if p.compression else None,
        max_size=MAX_SIZE,
        open_timeout=30,
        ssl=client_context(p),
    )
    return ws, ws.send, ws.recv


def run_sync(p: Params) -> dict[str, Any]:
    return blocking.run(p, "websockets.sync", _open)
