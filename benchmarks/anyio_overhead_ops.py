"""The operations ``benchmarks.anyio_overhead`` times: each done straight on asyncio (the
way omniws' native path does it), through anyio, and straight on trio. Every function does
``n`` operations; the caller times it. The awaits that are not the thing measured (the
producer's yield, the await inside a timeout) are the native ones on every side."""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import sniffio
import trio

from benchmarks.anyio_overhead_tcp import aio_tcp, anyio_tcp, trio_tcp

Op = Callable[[int], Awaitable[None]]
BURST = 64  # stream: items the producer hands over between two yields (one parsed chunk)


async def _noop() -> None:
    pass


def _native_sleep() -> Callable[[float], Awaitable[None]]:
    """The running library's own sleep (anyio's ops run under asyncio.run and trio.run)."""
    return trio.sleep if sniffio.current_async_library() == "trio" else asyncio.sleep


# -- an event set and waited, both ways between two tasks (a round trip) --------------------


async def aio_event(n: int) -> None:
    loop = asyncio.get_running_loop()
    ping, pong = [loop.create_future()], [loop.create_future()]

    async def echo() -> None:
        for _ in range(n):
            await ping[0]
            ping[0] = loop.create_future()
            pong[0].set_result(None)

    task = loop.create_task(echo())
    for _ in range(n):
        ping[0].set_result(None)
        await pong[0]
        pong[0] = loop.create_future()
    await task


def _event_op(event: Callable[[], Any], group: Callable[[], Any]) -> Op:
    async def op(n: int) -> None:
        ping, pong = [event()], [event()]

        async def echo() -> None:
            for _ in range(n):
                await ping[0].wait()
                ping[0] = event()
                pong[0].set()

        async with group() as tg:
            tg.start_soon(echo)
            for _ in range(n):
                ping[0].set()
                await pong[0].wait()
                pong[0] = event()

    return op


# -- a stream: a producer hands over items in bursts, a consumer awaits each ----------------


async def aio_stream(n: int) -> None:
    loop = asyncio.get_running_loop()
    items: deque[int] = deque()
    waiter: list[asyncio.Future[None] | None] = [None]

    async def produce() -> None:
        for _ in range(0, n, BURST):
            for i in range(BURST):
                items.append(i)
                w = waiter[0]
                if w is not None:
                    waiter[0] = None
                    w.set_result(None)
            await asyncio.sleep(0)

    task = loop.create_task(produce())
    for _ in range(n // BURST * BURST):
        while not items:
            w = waiter[0] = loop.create_future()
            await w
        items.popleft()
    await task


def _stream_op(lib: str, nowait_first: bool) -> Op:
    async def op(n: int) -> None:
        native_sleep = _native_sleep()
        send: Any
        receive: Any
        if lib == "trio":
            send, receive = trio.open_memory_channel[int](math.inf)
            group: Any = trio.open_nursery
        else:
            send, receive = anyio.create_memory_object_stream[int](math.inf)
            group = anyio.create_task_group
        would_block = trio.WouldBlock if lib == "trio" else anyio.WouldBlock

        async def produce() -> None:
            for _ in range(0, n, BURST):
                for i in range(BURST):
                    send.send_nowait(i)
                await native_sleep(0)

        async with group() as tg:
            tg.start_soon(produce)
            for _ in range(n // BURST * BURST):
                if nowait_first:
                    try:
                        receive.receive_nowait()
                        continue
                    except would_block:
                        pass
                await receive.receive()

    return op


# -- a yield, a timeout around an await, spawning tasks --------------------------------------


def _sleep_op(sleep: Callable[[float], Awaitable[None]]) -> Op:
    async def op(n: int) -> None:
        for _ in range(n):
            await sleep(0)

    return op


async def aio_timeout(n: int) -> None:
    sleep, timeout = asyncio.sleep, asyncio.timeout  # type: ignore[attr-defined,unused-ignore]
    for _ in range(n):
        async with timeout(10):
            await sleep(0)


async def aio_wait_for(n: int) -> None:
    sleep, wait_for = asyncio.sleep, asyncio.wait_for
    for _ in range(n):
        await wait_for(sleep(0), 10)


def _scope_op(move_on_after: Callable[[float], Any]) -> Op:
    async def op(n: int) -> None:
        sleep = _native_sleep()
        for _ in range(n):
            with move_on_after(10):
                await sleep(0)

    return op


async def aio_spawn(n: int) -> None:
    loop = asyncio.get_running_loop()
    for _ in range(n // 100):
        for task in [loop.create_task(_noop()) for _ in range(100)]:
            await task


def _spawn_op(group: Callable[[], Any]) -> Op:
    async def op(n: int) -> None:
        for _ in range(n // 100):
            async with group() as tg:
                for _ in range(100):
                    tg.start_soon(_noop)

    return op


# name -> what it measures, the figure's unit, operations per run, implementations by library
OPS: dict[str, tuple[str, int, dict[str, Op]]] = {
    "event round trip": (
        "Future / Event set+wait, both ways between two tasks",
        20_000,
        {
            "asyncio": aio_event,
            "anyio": _event_op(anyio.Event, anyio.create_task_group),
            "trio": _event_op(trio.Event, trio.open_nursery),
        },
    ),
    "stream item": (
        "deque+Future / memory stream: send_nowait, await receive(), 64 per yield",
        200_000,
        {
            "asyncio": aio_stream,
            "anyio": _stream_op("anyio", False),
            "trio": _stream_op("trio", False),
        },
    ),
    "stream item, nowait first": (
        "the same, receive_nowait() first, await receive() only when empty (asyncio: as above)",
        200_000,
        {
            "asyncio": aio_stream,
            "anyio": _stream_op("anyio", True),
            "trio": _stream_op("trio", True),
        },
    ),
    "sleep(0)": (
        "a bare yield to the loop",
        100_000,
        {
            "asyncio": _sleep_op(asyncio.sleep),
            "anyio": _sleep_op(anyio.sleep),
            "trio": _sleep_op(trio.sleep),
        },
    ),
    "timeout around await": (
        "asyncio.timeout / move_on_after(10) around a native sleep(0)",
        50_000,
        {
            **({"asyncio": aio_timeout} if hasattr(asyncio, "timeout") else {}),  # 3.11+
            "anyio": _scope_op(anyio.move_on_after),
            "trio": _scope_op(trio.move_on_after),
        },
    ),
    "wait_for around await": (
        "asyncio.wait_for(sleep(0), 10) (3.11: a task per call)",
        50_000,
        {"asyncio": aio_wait_for},
    ),
    "task spawn": (
        "create_task / start_soon of a no-op, 100 per group, awaited",
        20_000,
        {
            "asyncio": aio_spawn,
            "anyio": _spawn_op(anyio.create_task_group),
            "trio": _spawn_op(trio.open_nursery),
        },
    ),
    "TCP echo 32 B": (
        "loopback round trip, client CPU: Protocol+Future / anyio stream / trio stream",
        10_000,
        {"asyncio": aio_tcp, "anyio": anyio_tcp, "trio": trio_tcp},
    ),
}
