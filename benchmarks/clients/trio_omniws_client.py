"""omniws under trio: ``async with omniws.connect(url) as ws``, ``await ws.send()`` /
``await ws.recv()``, under ``trio.run`` (the same call as on asyncio: omniws picks its trio
connection when trio is the running library)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import omniws
from benchmarks.clients import async_loops
from benchmarks.common import MAX_SIZE, Params
from benchmarks.tls import client_context


@asynccontextmanager
async def _open(p: Params) -> AsyncIterator[tuple[async_loops.Send, async_loops.Recv]]:
    async with omniws.connect(
        p.url,
        compression=p.compression,
        max_message_size=MAX_SIZE,
        connect_timeout=30,
        ssl=client_context(p),
    ) as ws:
        yield ws.send, ws.recv


async def run_trio(p: Params) -> dict[str, Any]:
    return await async_loops.run(p, "omniws.trio", _open)
