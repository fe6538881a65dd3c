"""Hostile servers: everything a server controls is bounded in time and memory.

The server (servers/hostile_server.py) runs in its own process, so that tracemalloc here
measures the client alone. Each test asserts the error raised and the bound that held.
"""

from __future__ import annotations

import asyncio
import sys
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

import omniws
from omniws import HandshakeRejected, ProtocolError, WebSocketTimeout
from omniws.protocol.handshake import MAX_HEADERS, MAX_RESPONSE_HEAD

from .conftest import RawServerFactory
from .support import RawServer, ServerProcess, frame, free_port

HOSTILE = Path(__file__).resolve().parent / "servers" / "hostile_server.py"
MIB = 1 << 20


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("hostile") / "hostile.log"
    server = ServerProcess(
        "hostile", [sys.executable, str(HOSTILE), "--port", str(port)], "127.0.0.1", port, log
    )
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def no_env_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


class Ticker:
    """A concurrent task that wants to run every ``interval`` s; records how late it ran."""

    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self.lateness: list[float] = []
        self.cpu: list[float] = []  # CPU time this thread spent between two ticks
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        for _ in range(100_000):  # bounded; cancelled by stop()
            start, cpu = loop.time(), time.thread_time()
            await asyncio.sleep(self.interval)
            self.lateness.append(loop.time() - start - self.interval)
            self.cpu.append(time.thread_time() - cpu)

    async def stop(self) -> float:
        """Stop; return the largest lateness."""
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        return max(self.lateness, default=float("inf"))

    def quantile(self, q: float, cpu: bool = False) -> float:
        """The ``q`` quantile of the lateness, or of the CPU time per tick."""
        ordered = sorted(self.cpu if cpu else self.lateness) or [float("inf")]
        return ordered[min(int(q * len(ordered)), len(ordered) - 1)]


class Memory:
    """Peak Python memory (tracemalloc) allocated while the block runs, in bytes."""

    def __enter__(self) -> Memory:
        tracemalloc.start()
        self.base = tracemalloc.get_traced_memory()[0]
        self.peak = 0
        return self

    def __exit__(self, *exc: object) -> None:
        self.peak = tracemalloc.get_traced_memory()[1] - self.base
        tracemalloc.stop()


# ---------------------------------------------------------------- the opening handshake


async def test_dripping_server_hits_the_connect_timeout(hostile: str) -> None:
    began = time.monotonic()
    with pytest.raises(WebSocketTimeout) as info:
        await omniws.connect(f"{hostile}/drip", connect_timeout=0.5)
    assert info.value.operation == "connect"
    assert time.monotonic() - began < 2.5


async def test_endless_response_head_is_cut_at_its_bound(hostile: str) -> None:
    bound = f"exceeds {MAX_RESPONSE_HEAD} bytes"
    with Memory() as memory, pytest.raises(ProtocolError, match=bound):
        await omniws.connect(f"{hostile}/endless-head", connect_timeout=5)
    assert memory.peak < 4 * MIB


async def test_too_many_headers(hostile: str) -> None:
    with pytest.raises(ProtocolError, match=f"more than {MAX_HEADERS} headers"):
        await omniws.connect(f"{hostile}/many-headers", connect_timeout=5)


async def test_endless_rejection_body_is_cut(hostile: str) -> None:
    began = time.monotonic()
    with Memory() as memory, pytest.raises(HandshakeRejected) as info:
        await omniws.connect(f"{hostile}/huge-body", connect_timeout=5)
    assert info.value.status == 403 and 0 < len(info.value.body) <= 2048
    assert time.monotonic() - began < 2.5  # it does not wait for a gigabyte
    assert memory.peak < 4 * MIB


# ---------------------------------------------------------------- floods


async def test_flood_of_tiny_frames(hostile: str) -> None:
    async with omniws.connect(f"{hostile}/tiny-flood", compression=False, close_timeout=1) as ws:
        ticker = Ticker()
        with Memory() as memory:
            await asyncio.sleep(1.5)
        lateness = await ticker.stop()
        assert ws.reading_paused  # the queue filled: the client stopped reading
        stalled = ws.last_received
        await asyncio.sleep(0.3)
        assert ws.last_received == stalled, "reading went on with a full queue"
        assert await asyncio.wait_for(ws.recv(), 1) == ""
    assert lateness < 0.5, f"a concurrent timer ran {lateness:.3f} s late"
    # one read (256 KiB of 2-byte frames) may overfill the queue; nothing more
    assert memory.peak < 16 * MIB


async def test_ping_flood_keeps_the_loop_responsive(hostile: str) -> None:
    """A 1 ms ticker runs about as often during a flood of 2-byte pings as without it.

    Without the frame budget one 256 KiB read (131,072 pings) holds the loop for hundreds
    of ms, so most ticks run that late; with it, about a ms. Compared with the same test's
    unflooded baseline (90th percentiles, wide margins): the wall-clock lateness (the flood
    server competes for the CPU, hence the 100 ms margin) and the CPU time this thread spent
    between two ticks (the loop's own work per step, which other load does not inflate).
    """
    quiet = Ticker(0.001)
    await asyncio.sleep(1.0)
    await quiet.stop()
    async with omniws.connect(f"{hostile}/ping-flood?read=1", close_timeout=1) as ws:
        await asyncio.sleep(0.2)  # the flood is under way
        before = ws.last_received
        flooded = Ticker(0.001)
        await asyncio.sleep(1.5)
        worst = await flooded.stop()
        assert ws.last_received > before, "the flood stopped: nothing was measured"
        assert not ws.closed
    late, base_late = flooded.quantile(0.9), quiet.quantile(0.9)
    cpu, base_cpu = flooded.quantile(0.9, cpu=True), quiet.quantile(0.9, cpu=True)
    report = (
        f"during the flood a 1 ms timer ran {late * 1e3:.1f} ms late (90th percentile; max "
        f"{worst * 1e3:.1f} ms; {base_late * 1e3:.1f} ms without it) and the loop spent "
        f"{cpu * 1e3:.2f} ms of CPU between two ticks ({base_cpu * 1e3:.2f} ms without it)"
    )
    assert cpu < 4 * base_cpu + 0.01, report
    assert late < 4 * base_late + 0.1, report
    assert len(flooded.lateness) > 100, f"only {len(flooded.lateness)} ticks in 1.5 s"


async def test_ping_flood_from_a_server_that_never_reads(hostile: str) -> None:
    async with omniws.connect(f"{hostile}/ping-flood?read=0", close_timeout=1) as ws:
        await asyncio.sleep(2.5)  # without tracemalloc, which would slow the client down
        buffered = ws._transport.get_write_buffer_size()
    assert buffered < 1 * MIB, f"{buffered} bytes of pongs are waiting to be written"


# ---------------------------------------------------------------- backpressure, closing


async def test_peer_that_never_reads_blocks_send(hostile: str) -> None:
    limit = 64 * 1024
    message = b"x" * (16 * 1024)
    sent = 0
    async with omniws.connect(
        f"{hostile}/never-read", write_limit=limit, compression=False, close_timeout=0.5
    ) as ws:
        with Memory() as memory:
            blocked = False
            for _ in range(4000):  # bounded: 64 MiB, far beyond any kernel buffer
                try:
                    await asyncio.wait_for(ws.send(message), 0.5)
                except asyncio.TimeoutError:
                    blocked = True
                    break
                sent += 1
            buffered = ws._transport.get_write_buffer_size()
        assert blocked, f"send() never blocked after {sent} messages"
    # the transport holds at most the limit plus the message that crossed it
    assert buffered <= limit + len(message) + 64
    assert memory.peak < limit + 2 * MIB


async def test_server_that_ignores_our_close(hostile: str) -> None:
    ws = await omniws.connect(f"{hostile}/ignore-close", close_timeout=0.5)
    began = time.monotonic()
    await asyncio.wait_for(ws.close(), 5)
    assert 0.4 < time.monotonic() - began < 2
    assert ws.closed and ws.close_code == 1006  # no close handshake: dropped


async def test_server_that_closes_but_keeps_tcp_open(hostile: str) -> None:
    ws = await omniws.connect(f"{hostile}/close-no-fin", close_timeout=0.5)
    frame = await asyncio.wait_for(ws.wait_closed(), 5)
    assert frame.code == 1000 and ws.closed


async def test_close_with_a_full_queue_completes_the_handshake(
    raw_server: RawServerFactory,
) -> None:
    server = await raw_server(RawServer.handshake_then(frame(0x1, b"m") * 3000))
    ws = await omniws.connect(server.url, max_queue=1024, close_timeout=2, compression=False)
    for _ in range(100):  # bounded wait for the queue to fill
        if ws.reading_paused:
            break
        await asyncio.sleep(0.01)
    assert ws.reading_paused
    began = time.monotonic()
    await asyncio.wait_for(ws.close(), 5)
    assert ws.close_code == 1000, "the close handshake did not complete"
    assert time.monotonic() - began < 1
