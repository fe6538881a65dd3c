"""The workloads, the clients measured in each, and how long each measurement runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MIB = 1024 * 1024


@dataclass(frozen=True)
class Column:
    key: str  # a metric computed by ``metrics()``
    header: str
    digits: int
    lower_is_better: bool


CPU_RT = Column("cpu_us", "client CPU µs/round trip", 1, True)
CPU_MSG = Column("cpu_us", "client CPU µs/message", 2, True)
MBPS = Column("mbps", "MB/s", 0, False)
CPU_MSG_MS = Column("cpu_ms", "client CPU ms/message", 2, True)
OPEN = Column("open_ms", "open all, ms", 0, True)
KIB = Column("kib_per_conn", "RSS KiB/conn", 1, True)
CLOSE = Column("close_ms", "close all, ms", 0, True)


@dataclass(frozen=True)
class Workload:
    name: str
    group: str  # what --workloads selects
    kind: str  # echo | push | many (large is echo with a large payload)
    title: str
    columns: tuple[Column, ...]
    same_core: bool  # --pin: client and server on one core (else on two)
    picows_option: str  # picows' best transport for this workload (notes/BENCHMARKS.md)
    full: dict[str, Any] = field(default_factory=dict)  # Params fields for a full run
    quick: dict[str, Any] = field(default_factory=dict)  # ... and for --quick


def _echo(size: int, label: str) -> Workload:
    return Workload(
        f"echo-{size}",
        "echo",
        "echo",
        f"echo {label} binary",
        (CPU_RT,),
        True,
        "fastnet",
        full={"size": size, "count": 200_000, "seconds": 2.0, "warmup": 500, "step": 64},
        quick={"size": size, "count": 50_000, "seconds": 0.4, "warmup": 100, "step": 64},
    )


def _large(size: int, label: str, full: int, quick: int) -> Workload:
    return Workload(
        f"large-{label}",
        "large",
        "echo",
        f"echo {label} binary",
        (MBPS, CPU_MSG_MS),
        False,
        "plain",
        full={"size": size, "count": full, "seconds": 3.0, "warmup": 1, "step": 1},
        quick={"size": size, "count": quick, "seconds": 0.4, "warmup": 1, "step": 1},
    )


WORKLOADS: tuple[Workload, ...] = (
    _echo(32, "32 B"),
    _echo(256, "256 B"),
    Workload(
        "push-64",
        "push",
        "push",
        "push 64 B text (server sends as fast as it can)",
        (CPU_MSG,),
        False,
        "plain",
        full={"count": 2_000_000, "seconds": 2.0, "warmup": 5_000, "batch": 20_000},
        quick={"count": 1_000_000, "seconds": 0.4, "warmup": 1_000, "batch": 5_000},
    ),
    _large(MIB, "1 MiB", 2_000, 20),
    _large(16 * MIB, "16 MiB", 200, 3),
    Workload(
        "many-1000",
        "many",
        "many",
        "many connections, opened 100 at a time",
        (OPEN, KIB, CLOSE),
        False,
        "fastnet",
        full={"count": 1000, "seconds": 120.0, "warmup": 3, "concurrency": 100},
        quick={"count": 300, "seconds": 60.0, "warmup": 1, "concurrency": 100},
    ),
)

SYNC_CLIENTS = ("omniws.sync", "websockets.sync", "websocket-client")
SYNC_WORKLOADS = ("echo-32", "echo-256", "push-64")  # blocking clients: their own tables
TRIO_CLIENTS = ("omniws.trio", "trio-websocket", "websockets.trio")  # run under trio.run
CLIENTS = ("omniws", "websockets", "aiohttp", "picows", "raw", *SYNC_CLIENTS, *TRIO_CLIENTS)
DEFAULT_CLIENTS = ("omniws", "websockets", "aiohttp", "picows", *SYNC_CLIENTS)
LABEL_NOTES = {
    "omniws": "await send()/recv(); push: `async for message in ws`",
    "omniws-handler": "ws.set_message_handler(callback), straight from the parser; echo: the "
    "next request sent from the callback with ws.send_nowait()",
    "websockets": "websockets.asyncio.client, await send()/recv()",
    "aiohttp": "ClientSession.ws_connect, await send_bytes()/receive()",
    "picows": "WSListener callbacks, next request sent from on_ws_frame; payload as bytes/str",
    "raw": "ceiling: asyncio Protocol writing pre-masked frames, counting reply bytes",
    "omniws.sync": "omniws.sync.connect(), ws.send()/ws.recv(); "
    "its private stdlib event loop (whatever the loop column says) runs in the calling thread "
    "while it waits, else on its own thread",
    "websockets.sync": "websockets.sync.client, ws.send()/ws.recv() (a reader thread of its own)",
    "websocket-client": "websocket-client (module websocket), send_binary()/recv() on a "
    "blocking socket; no permessage-deflate, not installed by default: pip install "
    "websocket-client",
    "omniws.trio": "under trio.run: async with omniws.connect(url) as ws, await "
    "send()/recv(); trio rows ignore the loop and run once, in the first loop's table",
    "trio-websocket": "under trio.run: open_websocket_url, await send_message()/get_message(); "
    "no permessage-deflate",
    "websockets.trio": "under trio.run: websockets.trio.client.connect, await send()/recv()",
}


def is_sync(label: str) -> bool:
    """A blocking client: compared with the other blocking clients, in a table of its own."""
    return label in SYNC_CLIENTS


def is_trio(label: str) -> bool:
    """A client run under ``trio.run``: its omniws ratios are to the other trio clients."""
    return label in TRIO_CLIENTS


def groups(labels: list[str]) -> list[list[str]]:
    """The async rows and the blocking rows of a workload, each compared among themselves."""
    return [[x for x in labels if not is_sync(x)], [x for x in labels if is_sync(x)]]


def labels_for(
    workload: Workload, clients: list[str], compression: bool, trio: bool = True
) -> list[str]:
    """The rows of a workload's table: a client may appear twice (omniws push) or not at all.
    ``trio``: include the trio clients (they run in one loop's table only: no loop applies)."""
    labels: list[str] = []
    for client in clients:
        if is_trio(client) and (
            not trio or workload.kind == "many" or (client == "trio-websocket" and compression)
        ):
            continue
        if client == "raw" and (workload.name not in ("echo-32", "echo-256") or compression):
            continue
        if client == "picows" and compression:
            continue  # picows has no permessage-deflate
        if is_sync(client) and (
            workload.name not in SYNC_WORKLOADS or (client == "websocket-client" and compression)
        ):
            continue
        labels.append(client)
        if client == "omniws" and workload.kind in ("push", "echo"):
            labels.append("omniws-handler")
    return labels


def select(groups: list[str]) -> list[Workload]:
    chosen = [w for w in WORKLOADS if w.group in groups or w.name in groups]
    unknown = set(groups) - {w.group for w in WORKLOADS} - {w.name for w in WORKLOADS}
    if unknown:
        raise SystemExit(f"unknown workload(s): {', '.join(sorted(unknown))}")
    return chosen


def metrics(workload: Workload, result: dict[str, Any]) -> dict[str, float]:
    """The figures a run's raw measurement gives, keyed as the table columns."""
    count = max(int(result["count"]), 1)
    if workload.kind == "many":
        return {
            "open_ms": result["open_s"] * 1e3,
            "kib_per_conn": result["kib_per_conn"],
            "close_ms": result["close_s"] * 1e3,
            "open_cpu_us": result["open_cpu_s"] / count * 1e6,
        }
    out = {"cpu_us": result["cpu_s"] / count * 1e6, "per_s": count / result["wall_s"]}
    if workload.group == "large":
        out["mbps"] = result["bytes"] / result["wall_s"] / 1e6
        out["cpu_ms"] = result["cpu_s"] / count * 1e3
    return out
