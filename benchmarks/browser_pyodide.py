"""The in-Pyodide half of ``python -m benchmarks.browser``: echo round trips per second.

Loaded into Pyodide (Node.js or headless Chromium) by the harness of tests/wasm under the name
``omniws_wasm_suite``; :func:`run_all` takes the settings as JSON and returns the results as
JSON. Each client echoes a 32-byte text message over loopback as fast as it can for
``seconds`` per run, on its own connections. So that the load of a shared machine drifts
alike for all of them, a run is cut into ``slices`` (6) that take turns: client A for
seconds/6, then B, C, D, then A again; each slice opens a connection and warms it up first.

- ``js``: pure JavaScript ``WebSocket`` callbacks (the reference);
- ``callbacks``: Pyodide with hand-written ``js.WebSocket`` callbacks (``create_proxy``);
- ``handler``: omniws ``set_message_handler`` + ``send_nowait()``;
- ``awaited``: omniws ``await send()`` / ``await recv()``.

Two floors of the event loop are measured too: ``asyncio.sleep(0)`` wake-ups per second
(one scheduled callback each) and, for reference, JavaScript ``MessageChannel`` round trips.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import time
from typing import Any

import omniws

MESSAGE = "x" * 32
WARMUP = 0.2  # seconds of echo before counting, in each slice
CLIENTS = ("js", "callbacks", "handler", "awaited")

_JS_ECHO = """
(url, message, warmup, seconds) => new Promise((resolve, reject) => {
  const ws = new WebSocket(url);
  let count = 0, start = 0, end = 0, counting = false;
  ws.onerror = () => reject(new Error("the WebSocket failed"));
  ws.onopen = () => { start = performance.now() + warmup * 1000; ws.send(message); };
  ws.onmessage = (event) => {
    const now = performance.now();
    if (!counting && now >= start) { counting = true; start = now; end = now + seconds * 1000; }
    else if (counting) { count++; }
    if (counting && now >= end) { ws.close(); resolve([count, (now - start) / 1000]); return; }
    ws.send(event.data);
  };
})
"""
_JS_CHANNEL = """
(seconds) => new Promise((resolve) => {
  const channel = new MessageChannel();
  const start = performance.now(), end = start + seconds * 1000;
  let count = 0;
  channel.port1.onmessage = () => {
    count++;
    const now = performance.now();
    if (now >= end) { channel.port1.close(); resolve([count, (now - start) / 1000]); return; }
    channel.port2.postMessage(0);
  };
  channel.port2.postMessage(0);
})
"""


class _Clock:
    """Counts round trips from the end of the warm-up until ``seconds`` later."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.start = time.perf_counter() + WARMUP
        self.end = 0.0
        self.count = -1  # -1: still warming up

    def tick(self) -> bool:
        """One round trip done; False once the time is up."""
        now = time.perf_counter()
        if self.count < 0:
            if now >= self.start:
                self.count, self.start, self.end = 0, now, now + self.seconds
            return True
        self.count += 1
        if now >= self.end:
            self.end = now
            return False
        return True

    def rate(self) -> tuple[int, float]:
        return self.count, self.end - self.start


Rate = tuple[int, float]  # round trips, seconds


async def _js(url: str, seconds: float) -> Rate:
    run_js = importlib.import_module("pyodide.code").run_js
    count, elapsed = await run_js(_JS_ECHO)(url, MESSAGE, WARMUP, seconds)
    return int(count), float(elapsed)


async def _callbacks(url: str, seconds: float) -> Rate:
    js = importlib.import_module("js")
    create_proxy = importlib.import_module("pyodide.ffi").create_proxy
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    closed: asyncio.Future[None] = loop.create_future()
    clock = _Clock(seconds)
    ws = js.WebSocket.new(url)

    def on_open(event: Any) -> None:
        clock.start = time.perf_counter() + WARMUP
        ws.send(MESSAGE)

    def on_message(event: Any) -> None:
        data = event.data
        if clock.tick():
            ws.send(data)
        elif not done.done():
            done.set_result(None)

    def on_error(event: Any) -> None:
        if not done.done():
            done.set_exception(RuntimeError("the WebSocket failed"))

    def on_close(event: Any) -> None:
        on_error(event)
        if not closed.done():
            closed.set_result(None)

    proxies = [create_proxy(f) for f in (on_open, on_message, on_error, on_close)]
    ws.onopen, ws.onmessage, ws.onerror, ws.onclose = proxies
    try:
        await done
    finally:
        ws.close()
        await asyncio.wait_for(closed, 10)  # JavaScript calls no proxy after the close event
        ws.onopen = ws.onmessage = ws.onerror = ws.onclose = None
        for proxy in proxies:
            proxy.destroy()
    return clock.rate()


async def _handler(url: str, seconds: float) -> Rate:
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    async with omniws.connect(url, compression=False) as ws:
        clock = _Clock(seconds)

        def on_message(message: object) -> None:
            if clock.tick():
                ws.send_nowait(MESSAGE)
            elif not done.done():
                done.set_result(None)

        ws.set_message_handler(on_message)
        ws.send_nowait(MESSAGE)
        await done
        ws.set_message_handler(None)
    return clock.rate()


async def _awaited(url: str, seconds: float) -> Rate:
    async with omniws.connect(url, compression=False) as ws:
        clock = _Clock(seconds)
        await ws.send(MESSAGE)
        while True:
            await ws.recv()
            if not clock.tick():
                break
            await ws.send(MESSAGE)
    return clock.rate()


async def _sleep0(seconds: float) -> float:
    start = time.perf_counter()
    end, count = start + seconds, 0
    while True:
        for _ in range(100):
            await asyncio.sleep(0)
        count += 100
        now = time.perf_counter()
        if now >= end:
            return count / (now - start)


async def _channel(seconds: float) -> float:
    run_js = importlib.import_module("pyodide.code").run_js
    count, elapsed = await run_js(_JS_CHANNEL)(seconds)
    return float(count) / float(elapsed)


async def run_all(env_json: str) -> str:
    """Run every client ``runs`` times, in interleaved slices; return {client: [round trips
    per second, one per run]} as JSON."""
    env = json.loads(env_json)
    url, seconds, runs = str(env["echo"]), float(env["seconds"]), int(env["runs"])
    slices = int(env.get("slices", 6))
    clients = {"js": _js, "callbacks": _callbacks, "handler": _handler, "awaited": _awaited}
    results: dict[str, list[float]] = {name: [] for name in [*CLIENTS, "sleep0", "channel"]}
    for _ in range(runs):
        totals = {name: (0, 0.0) for name in CLIENTS}
        for _ in range(slices):
            for name in CLIENTS:
                count, elapsed = await clients[name](url, seconds / slices)
                totals[name] = (totals[name][0] + count, totals[name][1] + elapsed)
        for name, (count, elapsed) in totals.items():
            results[name].append(count / elapsed)
        results["sleep0"].append(await _sleep0(min(seconds, 1.0)))
        results["channel"].append(await _channel(min(seconds, 1.0)))
    return json.dumps(results)
