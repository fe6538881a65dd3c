"""``python -m benchmarks.flood``: what the frame budget buys, and what it costs.

omniws parses at most ``omniws.native.connection.FRAME_BUDGET`` frames per step of the event
loop and leaves the rest of a read for the next step. This prints, side by side, for the
budget as shipped and with it removed (``FRAME_BUDGET = None``), with the compiled core and
with pure Python (``OMNIWS_PURE_PYTHON=1``):

- flood: a server sends 2-byte pings as fast as the client takes them; a 1 ms ticker in the
  client records how late it runs (90th percentile and max, ms) and how much CPU the loop
  spent between two ticks;
- push: 64-byte text messages from the benchmark server (picows), client CPU µs per message;
- echo: 32-byte binary round trips, client CPU µs per round trip.

Each cell is the median of ``--repeat`` runs (interleaved, each in a fresh process), with the
range in brackets. The machine is shared and noisy (notes/BENCHMARKS.md): compare the columns
of one run, not absolute figures between runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PING_CHUNK = b"\x89\x00" * 8192  # 8192 empty pings, unmasked (server to client)
UPGRADE = (
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Accept: %s\r\n\r\n"
)


# ---- the flood server (its own process) --------------------------------------------------
async def _flood_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    import base64
    import hashlib

    head = await reader.readuntil(b"\r\n\r\n")
    key = next(
        line.split(b":", 1)[1].strip()
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"sec-websocket-key:")
    )
    magic = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
    digest = hashlib.sha1(key + magic, usedforsecurity=False).digest()
    writer.write(UPGRADE % base64.b64encode(digest))

    async def discard() -> None:  # the client's pongs
        for _ in range(10_000_000):
            if not await reader.read(65536):
                return

    reading = asyncio.ensure_future(discard())
    end = time.monotonic() + 30
    try:
        for _ in range(100_000_000):  # bounded by count, by time and by the client leaving
            if time.monotonic() > end or reading.done():
                break
            writer.write(PING_CHUNK)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        reading.cancel()
        writer.close()


async def _serve_flood() -> None:
    server = await asyncio.start_server(_flood_client, "127.0.0.1", 0)
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    await asyncio.sleep(3600)  # until terminated


# ---- one measurement (a worker process) --------------------------------------------------
async def _flood(url: str, seconds: float) -> dict[str, float]:
    import omniws

    loop = asyncio.get_running_loop()
    late: list[float] = []
    cpu: list[float] = []

    async def tick() -> None:
        for _ in range(1_000_000):
            start, cpu0 = loop.time(), time.thread_time()
            await asyncio.sleep(0.001)
            late.append(loop.time() - start - 0.001)
            cpu.append(time.thread_time() - cpu0)

    async with omniws.connect(url, compression=False, close_timeout=1) as ws:
        await asyncio.sleep(0.2)  # the flood is under way
        ticker = asyncio.ensure_future(tick())
        await asyncio.sleep(seconds)
        ticker.cancel()
        await asyncio.gather(ticker, return_exceptions=True)
        ws.abort()  # the budget-less client could take long to reach a close frame
    late.sort()
    cpu.sort()
    return {
        "late_p90_ms": late[int(0.9 * len(late))] * 1e3,
        "late_max_ms": late[-1] * 1e3,
        "cpu_p90_ms": cpu[int(0.9 * len(cpu))] * 1e3,
        "ticks": len(late),
    }


async def _measure(spec: dict[str, Any]) -> dict[str, Any]:
    from benchmarks.clients import omniws_client
    from benchmarks.common import Params
    from omniws.native import connection
    from omniws.protocol.frames import implementation

    connection.FRAME_BUDGET = spec["budget"]  # read by every new Connection
    out: dict[str, Any] = {"implementation": implementation()}
    out.update(await _flood(spec["flood_url"], spec["seconds"]))
    push = await omniws_client.run(
        Params(spec["url"], "push", count=400_000, seconds=spec["seconds"], warmup=20_000,
               batch=20_000)
    )  # fmt: skip
    out["push_us"] = push["cpu_s"] / push["count"] * 1e6
    echo = await omniws_client.run(
        Params(spec["url"], "echo", size=32, count=20_000, seconds=spec["seconds"], warmup=500)
    )
    out["echo_us"] = echo["cpu_s"] / echo["count"] * 1e6
    return out


# ---- the table ---------------------------------------------------------------------------
def _start(argv: list[str]) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, *argv], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None  # narrows the type (stdout=PIPE)
    line = proc.stdout.readline()
    if not line.startswith("PORT "):
        proc.terminate()
        raise SystemExit(f"{argv} did not start (got {line!r})")
    return proc, f"ws://127.0.0.1:{int(line.split()[1])}/"


def _worker(spec: dict[str, Any], pure: bool) -> dict[str, Any]:
    env = dict(os.environ, OMNIWS_PURE_PYTHON="1" if pure else "0")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.flood", "--worker", json.dumps(spec)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120 + 10 * spec["seconds"],
    )  # fmt: skip
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode or not lines:
        raise SystemExit(f"worker failed:\n{done.stdout}\n{done.stderr}")
    result: dict[str, Any] = json.loads(lines[-1][7:])
    return result


def _cell(values: list[float], digits: int) -> str:
    if not values:
        return "-"
    low, mid, high = (
        f"{v:.{digits}f}" for v in (min(values), statistics.median(values), max(values))
    )
    return f"{mid} [{low}-{high}]"


ROWS = [
    ("flood: 1 ms timer lateness, p90 (ms)", "late_p90_ms", 1),
    ("flood: 1 ms timer lateness, max (ms)", "late_max_ms", 1),
    ("flood: loop CPU between two ticks, p90 (ms)", "cpu_p90_ms", 2),
    ("flood: ticks in the measured time", "ticks", 0),
    ("push 64 B: client CPU µs/message", "push_us", 2),
    ("echo 32 B: client CPU µs/round trip", "echo_us", 1),
]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=1.5, help="per measured part")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--serve-flood", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_flood:
        asyncio.run(_serve_flood())
        return
    if args.worker:
        print("RESULT " + json.dumps(asyncio.run(_measure(json.loads(args.worker)))), flush=True)
        return
    sys.path.insert(0, str(ROOT / "src"))
    from omniws.native.connection import FRAME_BUDGET

    server, url = _start(["-m", "benchmarks.server"])
    flood, flood_url = _start(["-m", "benchmarks.flood", "--serve-flood"])
    columns = [(pure, budget) for pure in (False, True) for budget in (FRAME_BUDGET, None)]
    results: dict[tuple[bool, Any], list[dict[str, Any]]] = {c: [] for c in columns}
    try:
        for _ in range(args.repeat):
            for pure, budget in columns:
                spec = {"url": url, "flood_url": flood_url, "budget": budget,
                        "seconds": args.seconds}  # fmt: skip
                results[(pure, budget)].append(_worker(spec, pure))
    finally:
        for proc in (server, flood):
            proc.terminate()
            proc.wait(10)
    names = [
        f"{'python' if pure else 'compiled'}, budget {budget if budget else 'none'}"
        for pure, budget in columns
    ]
    width = max(len(row[0]) for row in ROWS)
    print(f"omniws frame budget, median [min-max] of {args.repeat} runs, default asyncio loop")
    print(f"| {'':{width}} | " + " | ".join(names) + " |")
    print(f"|{'-' * (width + 2)}|" + "|".join("-" * (len(n) + 2) for n in names) + "|")
    for label, key, digits in ROWS:
        cells = [_cell([r[key] for r in results[c]], digits) for c in columns]
        print(
            f"| {label:{width}} | "
            + " | ".join(f"{x:>{len(n)}}" for x, n in zip(cells, names, strict=True))
            + " |"
        )
    actual = {r["implementation"] for c in columns for r in results[c]}
    print(f"(implementations seen: {sorted(actual)})")


if __name__ == "__main__":
    main()
