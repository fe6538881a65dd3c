"""websockets (the asyncio implementation): ``await ws.send()`` / ``await ws.recv()``."""

from __future__ import annotations

from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from benchmarks.clients import async_loops
from benchmarks.common import MAX_SIZE, Params, check, open_many
from benchmarks.compressed import JSON_MESSAGE
from benchmarks.tls import client_context


async def _open(p: Params) -> ClientConnection:
    return await connect(
        p.url,
        compression="deflate" if p.compression else None,
        max_size=MAX_SIZE,
        open_timeout=30,
        ssl=client_context(p),
    )


async def echo(p: Params) -> dict[str, Any]:
    ws = await _open(p)
    result = await async_loops.echo_loop(p, ws.send, ws.recv)
    await ws.close()
    return result


async def push(p: Params) -> dict[str, Any]:
    ws = await _open(p)
    result = await async_loops.push_loop(p, ws.send, ws.recv)
    await ws.close()
    return result


async def many(p: Params) -> dict[str, Any]:
    async def close(ws: ClientConnection) -> None:
        await ws.close()

    async def open_one() -> ClientConnection:
        ws = await _open(p)
        if p.compression:  # one 1 KiB JSON message each way: the codec's memory counts
            await ws.send(JSON_MESSAGE)
            check(await ws.recv() == JSON_MESSAGE, "echo reply differs")
        return ws

    return await open_many(p, open_one, close)


async def run(p: Params) -> dict[str, Any]:
    return await {"echo": echo, "push": push, "many": many}[p.kind](p)
