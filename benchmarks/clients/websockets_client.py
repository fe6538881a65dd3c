"""websockets (the asyncio implementation): ``await ws.send()`` / ``await ws.recv()``."""

from __future__ import annotations

import time
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from benchmarks.common import MAX_SIZE, PUSH_DONE_TEXT, Meter, Params, check, open_many, payload
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
    data = payload(p.size)
    ws = await _open(p)
    send, recv = ws.send, ws.recv
    for _ in range(p.warmup):
        await send(data)
        await recv()
    n, step = 0, p.step
    meter = Meter()
    deadline = meter.t0 + p.seconds
    reply: Any = b""
    while n < p.count:
        for _ in range(step):
            await send(data)
            reply = await recv()
        n += step
        if time.perf_counter() > deadline:
            break
    result = meter.stop(n, n * p.size)
    check(reply == data, "echo reply differs")
    await ws.close()
    return result


async def push(p: Params) -> dict[str, Any]:
    ws = await _open(p)
    send, recv = ws.send, ws.recv
    await send(f"push {p.warmup}")
    while await recv() != PUSH_DONE_TEXT:
        pass
    n = 0
    meter = Meter()
    deadline = meter.t0 + p.seconds
    while n < p.count and time.perf_counter() < deadline:
        await send(f"push {p.batch}")
        while True:
            message = await recv()
            if message == PUSH_DONE_TEXT:
                break
            n += 1
    result = meter.stop(n)
    check(n % p.batch == 0, "push lost messages")
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
