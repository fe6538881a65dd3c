"""``python -m benchmarks.anyio_overhead``: what going through anyio costs per operation a
WebSocket client does on its hot and warm paths, against asyncio and trio used directly.

Each operation (``benchmarks/anyio_overhead_ops.py``) runs in a fresh ``asyncio.run`` or
``trio.run``: asyncio directly, anyio on asyncio, trio directly, anyio on trio; the order
rotates, every run is repeated, and the table shows client CPU µs per operation, median
[min-max], and anyio's ratio to the library underneath. The TCP row talks to an echo server
in its own process (``--pin``: both on one core, as the WebSocket echo benchmarks do). Then
the import time of each library (``python -X importtime``, median of 5).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import trio

from benchmarks import sysinfo
from benchmarks.anyio_overhead_ops import OPS, Op
from benchmarks.anyio_overhead_tcp import TCP_ADDR, prepare_heap, serve_echo

ROOT = Path(__file__).resolve().parent.parent
RUNS = (("asyncio", "asyncio"), ("asyncio", "anyio"), ("trio", "trio"), ("trio", "anyio"))
IMPORTS = {
    "asyncio": "import asyncio",
    "anyio on asyncio": "import asyncio, anyio, anyio._backends._asyncio",
    "trio": "import trio",
    "anyio on trio": "import trio, anyio, anyio._backends._trio",
}


async def _timed(op: Op, n: int) -> float:
    await op(max(n // 10, 200))  # warm-up: first-use caches, code objects
    gc.collect()
    t0 = time.process_time()
    await op(n)
    return (time.process_time() - t0) / n * 1e6


def measure(runtime: str, op: Op, n: int) -> float:
    """Client CPU µs per operation, in a fresh event loop of ``runtime``."""
    if runtime == "trio":
        return trio.run(_timed, op, n)
    return asyncio.run(_timed(op, n))


def import_us(statement: str, repeat: int = 7) -> float:
    """µs ``statement`` adds to a bare interpreter's start (``-X importtime``): the fastest
    of ``repeat`` runs minus the fastest bare start (on a busy machine the least disturbed)."""

    def total(code: str) -> float:
        err = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", code],
            capture_output=True,
            text=True,
            check=True,
        ).stderr
        top = re.findall(r"^import time:\s+\d+ \|\s+(\d+) \| (\S.*)$", err, re.M)
        return float(sum(int(cumulative) for cumulative, _ in top))

    return min(total(statement) for _ in range(repeat)) - min(total("pass") for _ in range(repeat))


def _cell(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{statistics.median(values):.2f} [{min(values):.2f}-{max(values):.2f}]"


def _ratio(ours: list[float], base: list[float]) -> str:
    if not ours or not base:
        return "-"
    return f"{statistics.median(ours) / statistics.median(base):.2f}x"


def table(results: dict[tuple[str, str, str], list[float]]) -> str:
    head = (
        f"{'operation':<26} {'asyncio':>21} {'anyio on asyncio':>21} {'ratio':>6} "
        f"{'trio':>21} {'anyio on trio':>21} {'ratio':>6}"
    )
    lines = ["client CPU µs per operation, median [min-max]; ratio: anyio / the library", head]
    for name in OPS:
        got = {run: results.get((name, *run), []) for run in RUNS}
        aio, any_aio = got["asyncio", "asyncio"], got["asyncio", "anyio"]
        tri, any_tri = got["trio", "trio"], got["trio", "anyio"]
        lines.append(
            f"{name:<26} {_cell(aio):>21} {_cell(any_aio):>21} {_ratio(any_aio, aio):>6} "
            f"{_cell(tri):>21} {_cell(any_tri):>21} {_ratio(any_tri, tri):>6}"
        )
    lines.append("")
    lines.extend(f"  {name}: {what}" for name, (what, _, _) in OPS.items())
    return "\n".join(lines)


def start_server(cpu: int | None) -> subprocess.Popen[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.anyio_overhead", "--serve", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    if server.stdout is None or server.stdout.readline().strip() != "READY":
        server.kill()
        raise SystemExit("the echo server did not start")
    if cpu is not None:
        os.sched_setaffinity(server.pid, {cpu})
    TCP_ADDR[0] = ("127.0.0.1", port)
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.anyio_overhead", description=__doc__
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--scale", type=float, default=1.0, help="operations per run, x")
    parser.add_argument("--pin", action="store_true", help="this process and the server: 1 core")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve_echo(args.serve)
        return 0
    prepare_heap()
    cpu = max(os.sched_getaffinity(0)) if args.pin else None
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    print(f"anyio overhead, {args.repeat} repetition(s); load average {sysinfo.loadavg()}")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in _versions().items()))
    server = start_server(cpu)
    probe = sysinfo.LoadProbe(server.pid)
    probe.start()
    t0 = time.perf_counter()
    results: dict[tuple[str, str, str], list[float]] = {}
    try:
        for rep in range(args.repeat):
            for index, (name, (_, count, impls)) in enumerate(OPS.items()):
                runs = [r for r in RUNS if r[1] in impls]
                shift = (rep + index) % len(runs)
                for runtime, lib in runs[shift:] + runs[:shift]:
                    n = max(int(count * args.scale), 200)
                    results.setdefault((name, runtime, lib), []).append(
                        measure(runtime, impls[lib], n)
                    )
            print(f"  repetition {rep + 1} done", file=sys.stderr, flush=True)
    finally:
        others = probe.others() / (time.perf_counter() - t0)
        server.kill()
        server.wait()
    print(table(results))
    print(f"\nother processes used {others:.2f} cores on average; load {sysinfo.loadavg()}")
    print("\nimport time (python -X importtime, µs over a bare interpreter, fastest of 7):")
    for name, statement in IMPORTS.items():
        print(f"  {name:<18} {import_us(statement):>9,.0f} µs   ({statement})")
    return 0


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    out = {"python": sys.version.split()[0]}
    out.update({name: version(name) for name in ("anyio", "trio", "sniffio")})
    return out


if __name__ == "__main__":
    raise SystemExit(main())
