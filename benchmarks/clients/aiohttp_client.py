"""aiohttp: ``await ws.send_bytes()`` / ``await ws.receive()`` in one ClientSession."""

from __future__ import annotations

import time
from typing import Any

import aiohttp

from benchmarks.common import MAX_SIZE, PUSH_DONE_TEXT, Meter, Params, check, open_many, payload
from benchmarks.compressed import JSON_MESSAGE
from benchmarks.tls import client_context


def _session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))


async def _open(session: aiohttp.ClientSession, p: Params) -> aiohttp.ClientWebSocketResponse[bool]:
    return await session.ws_connect(
        p.url,
        compress=15 if p.compression else 0,
        max_msg_size=MAX_SIZE,
        timeout=aiohttp.ClientWSTimeout(ws_close=30),
        ssl=client_context(p) or True,
    )


async def echo(p: Params) -> dict[str, Any]:
    data = payload(p.size)
    async with _session() as session:
        ws = await _open(session, p)
        send, receive = ws.send_bytes, ws.receive
        for _ in range(p.warmup):
            await send(data)
            await receive()
        n, step = 0, p.step
        meter = Meter()
        deadline = meter.t0 + p.seconds
        reply: Any = None
        while n < p.count:
            for _ in range(step):
                await send(data)
                reply = (await receive()).data
            n += step
            if time.perf_counter() > deadline:
                break
        result = meter.stop(n, n * p.size)
        check(reply == data, "echo reply differs")
        await ws.close()
    return result


async def push(p: Params) -> dict[str, Any]:
    async with _session() as session:
        ws = await _open(session, p)
        send, receive = ws.send_str, ws.receive
        await send(f"push {p.warmup}")
        while (await receive()).data != PUSH_DONE_TEXT:
            pass
        n = 0
        meter = Meter()
        deadline = meter.t0 + p.seconds
        while n < p.count and time.perf_counter() < deadline:
            await send(f"push {p.batch}")
            while True:
                message = (await receive()).data
                if message == PUSH_DONE_TEXT:
                    break
                n += 1
        result = meter.stop(n)
        check(n % p.batch == 0, "push lost messages")
        await ws.close()
    return result


async def many(p: Params) -> dict[str, Any]:
    async with _session() as session:

        async def close(ws: aiohttp.ClientWebSocketResponse[bool]) -> None:
            await ws.close()

        async def open_one() -> aiohttp.ClientWebSocketResponse[bool]:
            ws = await _open(session, p)
            if p.compression:  # one 1 KiB JSON message each way: the codec's memory counts
                await ws.send_str(JSON_MESSAGE)
                check((await ws.receive()).data == JSON_MESSAGE, "echo reply differs")
            return ws

        return await open_many(p, open_one, close)


async def run(p: Params) -> dict[str, Any]:
    return await {"echo": echo, "push": push, "many": many}[p.kind](p)
