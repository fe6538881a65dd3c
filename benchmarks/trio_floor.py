"""``python -m benchmarks.trio_floor``: the floor under a WebSocket echo on trio, and what a
reader task and trio's stream layer add to it. A 32-byte round trip over loopback to the echo
server of ``benchmarks.anyio_overhead`` (its own process, pinned to this process's core),
no WebSocket framing, client CPU µs per round trip, median [min-max] of ``--repeat`` runs:

- ``inline stream``: one task, ``await stream.send_all()`` then ``await stream.receive_some()``
- ``inline socket``: one task, a duplicate of the stream's socket: ``send()``, then
  ``await trio.lowlevel.wait_readable()`` and ``recv()``
- ``reader task, stream``: a reader task loops on ``receive_some()``, appends what arrives and
  sets a ``trio.Event`` the caller waits on (the shape of a connection with a reader task)
- ``reader task, socket``: the same reader task waiting with ``wait_readable()`` first and
  reading the duplicate socket with a non-blocking ``recv()``
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import time
from collections.abc import Awaitable, Callable

import trio

from benchmarks import sysinfo
from benchmarks.anyio_overhead import start_server
from benchmarks.anyio_overhead_tcp import MESSAGE, TCP_ADDR, prepare_heap

Case = Callable[[trio.SocketStream, int], Awaitable[None]]
READ = 65536


def _raw(stream: trio.SocketStream) -> socket.socket:
    sock = stream.socket
    raw = socket.socket(sock.family, sock.type, sock.proto, os.dup(sock.fileno()))
    raw.setblocking(False)
    return raw


async def inline_stream(stream: trio.SocketStream, n: int) -> None:
    send, receive = stream.send_all, stream.receive_some
    for _ in range(n):
        await send(MESSAGE)
        await receive(READ)


async def inline_socket(stream: trio.SocketStream, n: int) -> None:
    with _raw(stream) as raw:
        wait_readable = trio.lowlevel.wait_readable
        for _ in range(n):
            raw.send(MESSAGE)
            await wait_readable(raw)
            raw.recv(READ)


def _with_reader(use_socket: bool) -> Case:
    async def case(stream: trio.SocketStream, n: int) -> None:
        raw = _raw(stream)
        got: list[bytes] = []
        ready = [trio.Event()]

        async def reader() -> None:
            while True:
                if use_socket:
                    await trio.lowlevel.wait_readable(raw)
                    data = raw.recv(READ)
                else:
                    data = await stream.receive_some(READ)
                if not data:
                    return
                got.append(data)
                ready[0].set()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(reader)
            for _ in range(n):
                if use_socket:
                    raw.send(MESSAGE)
                else:
                    await stream.send_all(MESSAGE)
                while not got:
                    ready[0] = trio.Event()
                    await ready[0].wait()
                got.pop()
            nursery.cancel_scope.cancel()
        raw.close()

    return case


CASES: dict[str, Case] = {
    "inline stream": inline_stream,
    "inline socket": inline_socket,
    "reader task, stream": _with_reader(False),
    "reader task, socket": _with_reader(True),
}


async def _timed(case: Case, n: int) -> float:
    stream = await trio.open_tcp_stream(*TCP_ADDR[0])
    async with stream:
        await case(stream, max(n // 10, 100))  # warm-up
        t0 = time.process_time()
        await case(stream, n)
        return (time.process_time() - t0) / n * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.trio_floor", description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--count", type=int, default=20_000, help="round trips per run")
    args = parser.parse_args(argv)
    prepare_heap()
    cpu = max(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    server = start_server(cpu)
    probe = sysinfo.LoadProbe(server.pid)
    probe.start()
    t0 = time.perf_counter()
    results: dict[str, list[float]] = {name: [] for name in CASES}
    try:
        for rep in range(args.repeat):
            names = list(CASES)
            names = names[rep % len(names) :] + names[: rep % len(names)]
            for name in names:
                results[name].append(trio.run(_timed, CASES[name], args.count))
    finally:
        others = probe.others() / (time.perf_counter() - t0)
        server.kill()
        server.wait()
    print(f"trio echo floor, 32 B, client and server on core {cpu}; client CPU µs per round trip")
    for name, values in results.items():
        median = statistics.median(values)
        print(f"  {name:<22} {median:6.1f} [{min(values):.1f}-{max(values):.1f}]")
    print(f"other processes used {others:.2f} cores on average; load {sysinfo.loadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
