"""The echo and push loops over a connection's send and receive functions, for any async
library: the trio clients (omniws.trio, trio-websocket, websockets.trio, run by the worker
under ``trio.run``) and websockets on asyncio use them, so that only the client differs."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from benchmarks.common import PUSH_DONE_TEXT, Meter, Params, check, payload

Send = Callable[[Any], Awaitable[object]]
Recv = Callable[[], Awaitable[Any]]
Open = Callable[[Params], AbstractAsyncContextManager[tuple[Send, Recv]]]


async def run(p: Params, name: str, open_: Open) -> dict[str, Any]:
    """Measure ``p.kind`` (echo, which the large workloads also are, or push) on the
    connection ``open_(p)`` yields as its send and receive functions (closed on exit)."""
    if p.kind not in ("echo", "push"):
        raise SystemExit(f"{name} is only measured on echo, large and push, not {p.kind}")
    async with open_(p) as (send, recv):
        if p.kind == "echo":
            return await echo_loop(p, send, recv)
        return await push_loop(p, send, recv)


async def echo_loop(p: Params, send: Send, recv: Recv) -> dict[str, Any]:
    """Warm up, then send ``p.size`` bytes and await the reply, for ``p.count`` round trips
    or ``p.seconds``; the meter's result."""
    data = payload(p.size)
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
    return result


async def _push_batch(send: Send, recv: Recv, batch: int) -> int:
    await send(f"push {batch}")
    n = 0
    while await recv() != PUSH_DONE_TEXT:
        n += 1
    return n


async def push_loop(p: Params, send: Send, recv: Recv) -> dict[str, Any]:
    """Warm up, then have the server push batches of ``p.batch`` messages, for ``p.count``
    messages or ``p.seconds``; the meter's result."""
    await _push_batch(send, recv, p.warmup)
    n = 0
    meter = Meter()
    deadline = meter.t0 + p.seconds
    while n < p.count and time.perf_counter() < deadline:
        n += await _push_batch(send, recv, p.batch)
    result = meter.stop(n)
    check(n % p.batch == 0, "push lost messages")
    return result
