"""The echo and push loops of the blocking clients (omniws.sync, websockets.sync,
websocket-client): the same loop for each, so that only the client differs."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from benchmarks.common import PUSH_DONE_TEXT, Meter, Params, check, payload

Send = Callable[[Any], object]
Recv = Callable[[], Any]


def run(
    p: Params, name: str, open_: Callable[[Params], tuple[Any, Send, Recv]]
) -> dict[str, Any]:
    """Measure ``p.kind`` (echo or push) on a connection from ``open_(p)``, which returns the
    connection (closed at the end) and its send (of the echo payload) and receive functions.
    The push request goes out as text with ``ws.send(str)``, which every client has."""
    if p.kind not in ("echo", "push"):
        raise SystemExit(f"{name} is only measured on echo and push, not {p.kind}")
    ws, send, recv = open_(p)
    try:
        return _echo(p, send, recv) if p.kind == "echo" else _push(p, ws.send, recv)
    finally:
        ws.close()


def _echo(p: Params, send: Send, recv: Recv) -> dict[str, Any]:
    data = payload(p.size)
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
    return result


def _push_batch(send: Send, recv: Recv, batch: int) -> int:
    send(f"push {batch}")
    n = 0
    while recv() != PUSH_DONE_TEXT:
        n += 1
    return n


def _push(p: Params, send: Send, recv: Recv) -> dict[str, Any]:
    _push_batch(send, recv, p.warmup)
    n = 0
    meter = Meter()
    deadline = meter.t0 + p.seconds
    while n < p.count and time.perf_counter() < deadline:
        n += _push_batch(send, recv, p.batch)
    result = meter.stop(n)
    check(n % p.batch == 0, "push lost messages")
    return result
