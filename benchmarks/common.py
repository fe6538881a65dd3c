"""What a worker (one client, one workload, one process) is given and what it reports."""

from __future__ import annotations

import asyncio
import gc
import os
import resource
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from benchmarks.server import PUSH_DONE, PUSH_MESSAGE

PUSH_DONE_TEXT = PUSH_DONE.decode()
PUSH_LEN = len(PUSH_MESSAGE)
T = TypeVar("T")
MAX_SIZE = 64 * 1024 * 1024  # every client accepts the 16 MiB messages of the large workload


@dataclass
class Params:
    """One measurement; every loop in a client is bounded by ``count`` and by ``seconds``."""

    url: str
    kind: str = "echo"  # echo (also the large workloads) | push | many
    size: int = 0  # echo: payload bytes
    count: int = 0  # echo: round trips; push: messages; many: connections
    seconds: float = 1.0  # time bound of the measured part
    warmup: int = 0  # echo: round trips before measuring; push: messages; many: connections
    step: int = 1  # round trips between two looks at the clock
    batch: int = 0  # push: messages per "push N" request
    concurrency: int = 100  # many: connections being opened at once
    compression: bool = False
    option: str = ""  # a client-specific setting (picows: "fastnet" or "plain" transport)
    handler: bool = False  # omniws push: set_message_handler instead of `async for`
    ca: str = ""  # wss://: the folder holding the benchmark CA (benchmarks/tls.py)


class Meter:
    """Client CPU (this process, user+sys) and wall time around the measured part only."""

    def __init__(self) -> None:
        gc.collect()
        self.cpu0 = time.process_time()
        self.t0 = time.perf_counter()

    def stop(self, count: int, nbytes: int = 0, **extra: Any) -> dict[str, Any]:
        cpu = time.process_time() - self.cpu0
        wall = time.perf_counter() - self.t0
        return {"cpu_s": cpu, "wall_s": wall, "count": count, "bytes": nbytes, **extra}


def payload(size: int) -> bytes:
    """Binary, not all zeros, the same for every client."""
    return bytes(range(256)) * (size // 256) + bytes(range(size % 256))


def rss_kib() -> int:
    """Current resident set size of this process, KiB."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") // 1024


def raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))


def check(condition: bool, what: str) -> None:
    if not condition:
        raise RuntimeError(f"benchmark check failed: {what}")


async def open_many(
    p: Params,
    open_one: Callable[[], Awaitable[T]],
    close_one: Callable[[T], Awaitable[object]],
) -> dict[str, Any]:
    """The many workload for any client: open ``p.count`` connections (``p.concurrency`` at a
    time), measure RSS per connection, then close them all gracefully."""
    for _ in range(max(p.warmup, 1)):  # imports, first-use caches: not per-connection memory
        await close_one(await open_one())
    sem = asyncio.Semaphore(p.concurrency)

    async def guarded() -> T:
        async with sem:
            return await asyncio.wait_for(open_one(), p.seconds)

    gc.collect()
    rss0 = rss_kib()
    meter = Meter()
    conns = await asyncio.gather(*(guarded() for _ in range(p.count)))
    open_s = time.perf_counter() - meter.t0
    open_cpu = time.process_time() - meter.cpu0
    gc.collect()
    rss1 = rss_kib()
    t1 = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(close_one(c) for c in conns)), p.seconds)
    close_s = time.perf_counter() - t1
    n = len(conns)
    return meter.stop(
        n, open_s=open_s, open_cpu_s=open_cpu, close_s=close_s, kib_per_conn=(rss1 - rss0) / n
    )
