"""The page lifecycle tests with real browser events, made through the DevTools protocol by
page_runner.py, and a main thread blocked for seconds. Registered by suite_page.py (this
module is ``omniws_page_devtools`` inside Pyodide, beside ``omniws_wasm_suite``)."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import TYPE_CHECKING, Any

from omniws import ReconnectConfig, WebSocketConfig
from omniws.messages import CloseFrame
from omniws.state import Connected, Connecting, Failed

if TYPE_CHECKING or __package__:  # CPython (the test package): only the names are needed
    from .suite_page import Env, Watched, case, devtools, js, server_report, wait_until
else:  # Pyodide: both are top-level modules there
    from omniws_wasm_suite import Env, Watched, case, devtools, js, server_report, wait_until


# ---- real events through DevTools -----------------------------------------------------------
@case("browser")
async def test_devtools_offline_then_online(env: Env) -> None:
    reconnect = ReconnectConfig(initial_delay=5, max_delay=30, max_attempts=1, jitter=0)
    config = WebSocketConfig(f"{env['echo']}/echo", reconnect=reconnect, heartbeat_interval=None)
    watched = Watched(config)
    async with watched.client as client:
        await devtools("offline", 2.0)
        await wait_until(lambda: not isinstance(client.state, Connected), 5)
        assert bool(js.navigator.onLine) is False
        assert watched.frames == [CloseFrame(1006, "offline")]
        online_took = await wait_until(lambda: bool(js.navigator.onLine), 10)
        took = await wait_until(lambda: isinstance(client.state, Connected), 4)
        assert took < 3, (online_took, took)  # not the 5 s backoff, nor the 30 s max_delay
        assert Failed not in watched.kinds() and watched.opened == 2
        await client.send("after offline")
        assert await asyncio.wait_for(client.recv(), 5) == "after offline"


@case("browser")
async def test_devtools_freeze_then_resume(env: Env) -> None:
    """Chromium 156 drops a frozen page's WebSockets (close 1006 at resume): the client must
    be connected again within a few seconds, not after its 30 s heartbeat interval. (The
    probe at resume itself is checked by the synthetic test above.)"""
    resumed: list[float] = []
    proxy = __import__("pyodide.ffi").ffi.create_proxy(lambda e: resumed.append(time.monotonic()))
    js.document.addEventListener("resume", proxy)
    config = WebSocketConfig(
        f"{env['echo']}/echo", heartbeat_interval=30, heartbeat_timeout=5, heartbeat_message="hb"
    )
    watched = Watched(config)
    try:
        async with watched.client as client:
            await devtools("freeze", 1.5)
            await wait_until(lambda: resumed, 15)
            probe: list[object] = []

            async def read() -> None:
                probe.append(await client.recv())

            reader = asyncio.ensure_future(read())
            try:  # the probe's echo on the same connection, or a new connection
                await wait_until(lambda: probe or watched.opened == 2, 5)
            finally:
                reader.cancel()
            assert probe in ([], ["hb"]), probe
            assert isinstance(client.state, Connected), watched.states
            assert time.monotonic() - resumed[0] < 5
    finally:
        js.document.removeEventListener("resume", proxy)
        proxy.destroy()


@case("browser")
async def test_devtools_back_forward_cache(env: Env) -> None:
    record = uuid.uuid4().hex
    watched = Watched(WebSocketConfig(f"{env['echo']}/record?id={record}"))
    shown = asyncio.get_running_loop().create_future()
    ffi = __import__("pyodide.ffi").ffi

    def on_pageshow(event: Any) -> None:
        if not shown.done():
            shown.set_result(bool(event.persisted))

    proxy = ffi.create_proxy(on_pageshow)
    js.window.addEventListener("pageshow", proxy)
    try:
        async with watched.client as client:
            js.sessionStorage.setItem("omniws-away", "1")
            await devtools("away", 1.0)
            assert await asyncio.wait_for(shown, 20) is True  # restored from the cache
            js.sessionStorage.removeItem("omniws-away")
            await wait_until(lambda: watched.opened == 2, 5)
            assert watched.frames[0] == CloseFrame(1000, "pagehide")
            assert isinstance(client.state, Connected)
            report = await server_report(env, record)
            assert report == {"code": 1000, "reason": "pagehide"}, report
    finally:
        js.window.removeEventListener("pageshow", proxy)
        proxy.destroy()


BLOCK_3S = "(() => { const end = Date.now() + 3000; while (Date.now() < end) {} })()"


def probed_every_second(url: str) -> WebSocketConfig:
    """A message heartbeat: "hb" after 1 s of silence, answered "hb" within 1 s."""
    return WebSocketConfig(
        url,
        heartbeat_interval=1,
        heartbeat_timeout=1,
        heartbeat_message="hb",
        heartbeat_reply="hb",
    )


def block_after_probes(client: Any, times: int) -> list[float]:
    """Block the page 3 s right after each of the first ``times`` probes went out (its answer
    queues up behind the heartbeat's deadline); the list gets the time of each block."""
    conn: Any = client._link.current
    real_send, blocked = conn.send, list[float]()

    async def send_then_block(data: Any) -> None:
        await real_send(data)
        if data == "hb" and len(blocked) < times:
            blocked.append(time.monotonic())
            asyncio.get_running_loop().call_soon(js.eval, BLOCK_3S)

    conn.send = send_then_block
    return blocked


@case("browser")
async def test_blocked_main_thread_causes_no_reconnection(env: Env) -> None:
    watched = Watched(probed_every_second(f"{env['echo']}/echo"))
    async with watched.client as client:
        blocked = block_after_probes(client, 2)
        await asyncio.sleep(1.5)
        js.eval(BLOCK_3S)  # and once more at some other moment
        await wait_until(lambda: len(blocked) == 2, 15)
        await asyncio.sleep(4)
        assert watched.kinds() == [Connecting, Connected], watched.states
        assert client.stats.reconnects == 0 and watched.frames == []


@case("browser")
async def test_a_late_deadline_waits_for_the_answer(env: Env) -> None:
    """The page blocks 3 s right after the first probe; its answer (3.3 s late) comes after
    the overdue deadline fired: a late deadline gives a full timeout of running time."""
    watched = Watched(probed_every_second(f"{env['slow']}/first?delay=3.3"))
    async with watched.client as client:
        blocked = block_after_probes(client, 1)
        await wait_until(lambda: blocked, 5)
        await asyncio.sleep(5)
        assert watched.kinds() == [Connecting, Connected], watched.states
        assert client.stats.reconnects == 0 and watched.frames == []
