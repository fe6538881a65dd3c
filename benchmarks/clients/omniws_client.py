"""omniws: ``await ws.send()`` / ``await ws.recv()``; push also through ``async for`` (the
counterpart of websockets' recv loop) and ``set_message_handler`` (the counterpart of picows'
callback), chosen by ``Params.handler``."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import omniws
from benchmarks.common import MAX_SIZE, PUSH_DONE_TEXT, Meter, Params, check, open_many, payload
from benchmarks.compressed import JSON_MESSAGE
from benchmarks.tls import client_context


async def _open(p: Params) -> Any:
    return await omniws.connect(
        p.url,
        compression=p.compression,
        max_message_size=MAX_SIZE,
        connect_timeout=30,
        ssl=client_context(p),
    )


class _Echoer:
    """Echo from the message handler: the next request goes out with ``send_nowait`` from
    the callback, as picows' listener does; ``batch(n)`` runs n round trips."""

    def __init__(self, ws: Any, data: bytes) -> None:
        self.ws = ws
        self.data = data
        self.left = 0
        self.reply: Any = b""
        self.waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def __call__(self, message: str | bytes) -> None:
        self.reply = message
        self.left -= 1
        if self.left > 0:
            self.ws.send_nowait(self.data)
        elif not self.waiter.done():
            self.waiter.set_result(None)

    async def batch(self, n: int) -> None:
        self.left = n
        self.waiter = asyncio.get_running_loop().create_future()
        self.ws.send_nowait(self.data)
        await self.waiter


async def echo(p: Params) -> dict[str, Any]:
    data = payload(p.size)
    ws = await _open(p)
    send, recv = ws.send, ws.recv
    echoer = _Echoer(ws, data)
    if p.handler:
        ws.set_message_handler(echoer)
        await echoer.batch(p.warmup)
    else:
        for _ in range(p.warmup):
            await send(data)
            await recv()
    n, step = 0, p.step
    meter = Meter()
    deadline = meter.t0 + p.seconds
    reply: Any = b""
    while n < p.count:
        if p.handler:
            await echoer.batch(step)
            reply = echoer.reply
        else:
            for _ in range(step):
                await send(data)
                reply = await recv()
        n += step
        if time.perf_counter() > deadline:
            break
    result = meter.stop(n, n * p.size)
    check(reply == data, "echo reply differs")
    if p.handler:
        ws.set_message_handler(None)
    await ws.close()
    return result


async def _push_iter(ws: Any, batch: int) -> int:
    await ws.send(f"push {batch}")
    n = 0
    async for message in ws:
        if message == PUSH_DONE_TEXT:
            break
        n += 1
    return n


class _Counter:
    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.n = 0
        self.waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def __call__(self, message: str | bytes) -> None:
        if message == PUSH_DONE_TEXT:
            if not self.waiter.done():
                self.waiter.set_result(None)
        else:
            self.n += 1

    async def batch(self, batch: int) -> int:
        n0 = self.n
        self.waiter = asyncio.get_running_loop().create_future()
        await self.ws.send(f"push {batch}")
        await self.waiter
        return self.n - n0


async def push(p: Params) -> dict[str, Any]:
    ws = await _open(p)
    if p.handler:
        counter = _Counter(ws)
        ws.set_message_handler(counter)
        run_batch = counter.batch
    else:

        async def run_batch(batch: int) -> int:
            return await _push_iter(ws, batch)

    await run_batch(p.warmup)
    n = 0
    meter = Meter()
    deadline = meter.t0 + p.seconds
    while n < p.count and time.perf_counter() < deadline:
        n += await run_batch(p.batch)
    result = meter.stop(n)
    check(n % p.batch == 0, "push lost messages")
    if p.handler:
        ws.set_message_handler(None)
    await ws.close()
    return result


async def many(p: Params) -> dict[str, Any]:
    async def close(ws: Any) -> None:
        await ws.close()

    async def open_one() -> Any:
        ws = await _open(p)
        if p.compression:  # one 1 KiB JSON message each way: the codec's memory counts
            await ws.send(JSON_MESSAGE)
            check(await ws.recv() == JSON_MESSAGE, "echo reply differs")
        return ws

    return await open_many(p, open_one, close)


async def run(p: Params) -> dict[str, Any]:
    return await {"echo": echo, "push": push, "many": many}[p.kind](p)
