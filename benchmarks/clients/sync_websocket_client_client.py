"""websocket-client (PyPI ``websocket-client``, module ``websocket``): ``ws.send_binary()`` /
``ws.recv()`` on a blocking socket in the calling thread."""

from __future__ import annotations

import time
from typing import Any

import websocket

from benchmarks.common import PUSH_DONE_TEXT, Meter, Params, check, payload
from benchmarks.tls import client_context


def _open(p: Params) -> websocket.WebSocket:
    if p.compression:
        raise SystemExit("websocket-client has no permessage-deflate")
    context = client_context(p)
    options = {"context": context} if context else None  # wss://: trust the benchmark CA
    ws = websocket.WebSocket(enable_multithread=False, sslopt=options)
    ws.connect(p.url, timeout=30)
    ws.settimeout(None)
    return ws


def echo(p: Params) -> dict[str, Any]:
    data = payload(p.size)
    ws = _open(p)
    send, recv = ws.send_binary, ws.recv
    for _ in range(p.warmup):
        send(data)
        recv()
    n, step = 0, p.step
    meter = Meter()
    deadline = meter.t0 + p.seconds
    reply: Any = b""
    while n < p.count:
        for _ in range(step):
            send(data)
            reply = recv()
        n += step
        if time.perf_counter() > deadline:
            break
    result = meter.stop(n, n * p.size)
    check(reply == data, "echo reply differs")
    ws.close()
    return result


def _push_batch(ws: websocket.WebSocket, batch: int) -> int:
    ws.send(f"push {batch}")
    n = 0
    recv = ws.recv
    while recv() != PUSH_DONE_TEXT:
        n += 1
    return n


def push(p: Params) -> dict[str, Any]:
    ws = _open(p)
    _push_batch(ws, p.warmup)
    n = 0
    meter = Meter()
    deadline = meter.t0 + p.seconds
    while n < p.count and time.perf_counter() < deadline:
        n += _push_batch(ws, p.batch)
    result = meter.stop(n)
    check(n % p.batch == 0, "push lost messages")
    ws.close()
    return result


def run_sync(p: Params) -> dict[str, Any]:
    if p.kind not in ("echo", "push"):
        raise SystemExit(f"websocket-client is only measured on echo and push, not {p.kind}")
    return {"echo": echo, "push": push}[p.kind](p)
