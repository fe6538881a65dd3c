"""trio-websocket: ``open_websocket_url``, ``await ws.send_message()`` /
``await ws.get_message()``, under ``trio.run``. It has no permessage-deflate."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from trio_websocket import open_websocket_url

from benchmarks.clients import async_loops
from benchmarks.common import MAX_SIZE, Params
from benchmarks.tls import client_context


@asynccontextmanager
async def _open(p: Params) -> AsyncIterator[tuple[async_loops.Send, async_loops.Recv]]:
    if p.compression:
        raise SystemExit("trio-websocket has no permessage-deflate")
    async with open_websocket_url(
        p.url, client_context(p), max_message_size=MAX_SIZE, connect_timeout=30
    ) as ws:
        yield ws.send_message, ws.get_message


async def run_trio(p: Params) -> dict[str, Any]:
    return await async_loops.run(p, "trio-websocket", _open)
