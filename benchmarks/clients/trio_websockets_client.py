"""websockets.trio (websockets' trio implementation): ``async with connect(url) as ws``,
``await ws.send()`` / ``await ws.recv()``, under ``trio.run``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from websockets.trio.client import connect

from benchmarks.clients import async_loops
from benchmarks.common import MAX_SIZE, Params
from benchmarks.tls import client_context


@asynccontextmanager
async def _open(p: Params) -> AsyncIterator[tuple[async_loops.Send, async_loops.Recv]]:
    async with connect(
        p.url,
        compression="deflate" if p.compression else None,
        max_size=MAX_SIZE,
        open_timeout=30,
        ssl=client_context(p),
    ) as ws:
        yield ws.send, ws.recv


async def run_trio(p: Params) -> dict[str, Any]:
    return await async_loops.run(p, "websockets.trio", _open)
