"""Page lifecycle tests that run inside Pyodide: in headless Chromium (page_runner.py, with
DevTools for real events) and in Node.js (which has no page at all).

Self-contained like suite.py (only omniws, the standard library and ``js``), written into
Pyodide's file system as ``omniws_wasm_suite``; the tests with real DevTools events are in
suite_page_devtools.py (``omniws_page_devtools`` there). ``await run_all(env_json)`` runs
the tests of this runtime ("browser" or "node") and returns a JSON list of results.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import omniws
from omniws import ReconnectConfig, WebSocketClient, WebSocketConfig
from omniws._platform import page_environment
from omniws.messages import CloseFrame
from omniws.state import Connected, Connecting, ConnectionState, Reconnecting

try:
    js: Any = __import__("js")
except ImportError:  # CPython: only names() is used, by test_page_lifecycle.py
    js = None
RUNTIME = "browser" if hasattr(js, "document") else "node"
TEST_TIMEOUT = 60.0
Env = dict[str, str]
TESTS: dict[str, tuple[Callable[[Env], Awaitable[None]], str]] = {}


TestFunction = Callable[[Env], Awaitable[None]]


def case(runtime: str) -> Callable[[TestFunction], TestFunction]:
    def register(func: TestFunction) -> TestFunction:
        TESTS[func.__name__] = (func, runtime)
        return func

    return register


def names(runtime: str) -> list[str]:
    return [name for name, (_, where) in TESTS.items() if where == runtime]


async def wait_until(predicate: Callable[[], object], seconds: float = 10.0) -> float:
    """Poll ``predicate`` every 10 ms for at most ``seconds``; return the time it took."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > seconds:
            raise AssertionError(f"condition not met within {seconds} s")
        await asyncio.sleep(0.01)
    return time.monotonic() - started


def js_object(**fields: Any) -> Any:
    from pyodide.ffi import to_js  # type: ignore[import-not-found]

    return to_js(fields, dict_converter=js.Object.fromEntries)


async def devtools(action: str, seconds: float) -> None:
    """Ask the harness for a real browser event (page_runner.py); it happens ~0.3 s later."""
    body = json.dumps({"action": action, "seconds": seconds})
    answer = await js.fetch("/devtools", js_object(method="POST", body=body))
    assert int(answer.status) == 204, f"/devtools answered {answer.status}"


def fire(event: str, persisted: bool = False) -> None:
    """A synthetic page event, where the real one cannot be made on demand."""
    if event == "pageshow" or event == "pagehide":
        init = js_object(persisted=persisted)
        js.window.dispatchEvent(js.PageTransitionEvent.new(event, init))
    elif event in ("visibilitychange", "freeze", "resume"):
        js.document.dispatchEvent(js.Event.new(event))
    else:
        js.window.dispatchEvent(js.Event.new(event))


def listeners() -> dict[str, int]:
    counts = js.window.omniwsListeners.to_py()
    return {name: int(counts.get(name, 0)) for name in PAGE_EVENTS}


PAGE_EVENTS = ("online", "offline", "pagehide", "pageshow", "visibilitychange", "freeze", "resume")


class Watched:
    """A client with its states, close frames and on_open count recorded."""

    def __init__(self, config: WebSocketConfig) -> None:
        self.client = WebSocketClient(config)
        self.states: list[tuple[float, ConnectionState]] = []
        self.frames: list[CloseFrame] = []
        self.opened = 0
        self.client.on_state_change(lambda s: self.states.append((time.monotonic(), s)))
        self.client.on_close(self.frames.append)
        self.client.on_open(self._open)

    def _open(self) -> None:
        self.opened += 1

    def kinds(self) -> list[type]:
        return [type(state) for _, state in self.states]


# ---- the page ------------------------------------------------------------------------------
@case("browser")
async def test_every_listener_is_removed_on_close(env: Env) -> None:
    environment = page_environment()
    assert environment is not None and environment.online is True
    before = listeners()
    async with WebSocketClient(f"{env['echo']}/echo"):
        during = listeners()
        assert all(during[name] == before[name] + 1 for name in PAGE_EVENTS), (before, during)
    assert listeners() == before
    config = WebSocketConfig(f"{env['echo']}/echo", browser_lifecycle=False)
    async with WebSocketClient(config):
        assert listeners() == before


@case("browser")
async def test_synthetic_online_retries_at_once_with_the_delay_reset(env: Env) -> None:
    reconnect = ReconnectConfig(initial_delay=4, max_delay=30, jitter=0)
    watched = Watched(WebSocketConfig(env["refused"], reconnect=reconnect, connect_timeout=3))
    watched.client._supervisor.start()  # connect() would wait for success
    try:
        await wait_until(lambda: watched.kinds().count(Reconnecting) >= 1)
        await asyncio.sleep(0.2)
        attempts = watched.kinds().count(Connecting)
        fired = time.monotonic()
        fire("online")
        await wait_until(lambda: watched.kinds().count(Connecting) > attempts, 3)
        assert time.monotonic() - fired < 2  # not after the 4 s (then 8 s) backoff
        await wait_until(lambda: watched.kinds().count(Reconnecting) >= 2, 5)
        last = [s for _, s in watched.states if isinstance(s, Reconnecting)][-1]
        assert last.delay == 4  # started over, not 8
    finally:
        await watched.client.close()


@case("browser")
async def test_synthetic_offline_and_online(env: Env) -> None:
    reconnect = ReconnectConfig(initial_delay=5, max_delay=30, max_attempts=1, jitter=0)
    watched = Watched(WebSocketConfig(f"{env['echo']}/echo", reconnect=reconnect))
    async with watched.client as client:
        fire("offline")
        await wait_until(lambda: isinstance(client.state, Reconnecting), 1)
        state = client.state
        assert isinstance(state, Reconnecting) and state.cause == CloseFrame(1006, "offline")
        await wait_until(lambda: watched.frames)
        assert watched.frames == [CloseFrame(1006, "offline")]
        assert state.delay == 30  # offline: only every max_delay
        fire("online")
        await wait_until(lambda: isinstance(client.state, Connected), 3)
        assert watched.opened == 2
        await client.send("back")
        assert await asyncio.wait_for(client.recv(), 5) == "back"


@case("browser")
async def test_synthetic_pagehide_and_pageshow(env: Env) -> None:
    record = uuid.uuid4().hex
    watched = Watched(WebSocketConfig(f"{env['echo']}/record?id={record}", reconnect=None))
    async with watched.client as client:
        fire("pagehide", persisted=True)
        await wait_until(lambda: watched.frames)
        assert watched.frames == [CloseFrame(1000, "pagehide")]
        report = await server_report(env, record)
        assert report == {"code": 1000, "reason": "pagehide"}, report
        sending = asyncio.ensure_future(client.send("sent while away"))
        await asyncio.sleep(1)
        assert not sending.done() and isinstance(client.state, Reconnecting)
        fire("pageshow", persisted=False)  # a first load: not a return from the cache
        await asyncio.sleep(0.3)
        assert watched.opened == 1
        fire("pageshow", persisted=True)
        await asyncio.wait_for(sending, 5)
        assert watched.opened == 2 and isinstance(client.state, Connected)
        assert await asyncio.wait_for(client.recv(), 5) == "sent while away"


@case("browser")
async def test_synthetic_visible_and_resume_probe_at_once(env: Env) -> None:
    config = WebSocketConfig(
        f"{env['echo']}/echo", heartbeat_interval=30, heartbeat_timeout=0.3, heartbeat_message="hb"
    )
    async with WebSocketClient(config) as client:
        for event in ("resume", "visibilitychange"):  # the page is visible: "visible"
            await asyncio.sleep(0.6)  # (a nudge while a probe is out changes nothing)
            fire(event)
            assert await asyncio.wait_for(client.recv(), 2) == "hb"


async def server_report(env: Env, record: str) -> dict[str, Any]:
    for _ in range(100):
        async with omniws.connect(f"{env['echo']}/report?id={record}") as reporter:
            report: dict[str, Any] = json.loads(await asyncio.wait_for(reporter.recv(), 5))
        if report:
            return report
        await asyncio.sleep(0.05)
    raise AssertionError(f"the server recorded no close for {record}")


# ---- Node.js -------------------------------------------------------------------------------
@case("node")
async def test_node_has_no_page(env: Env) -> None:
    assert page_environment() is None
    async with WebSocketClient(f"{env['echo']}/echo") as client:
        assert client._supervisor._page.watching is False
        await client.send("node")
        assert await asyncio.wait_for(client.recv(), 5) == "node"


# ---- the DevTools tests (another module, registered here) ------------------------------------
if js is None:  # CPython, for names(): the test package
    from . import suite_page_devtools  # noqa: F401
elif RUNTIME == "browser":  # Pyodide: page_runner.py writes it beside this module
    import omniws_page_devtools  # type: ignore[import-not-found]  # noqa: F401


# ---- running -------------------------------------------------------------------------------
async def run_all(env_json: str) -> str:
    env: Env = json.loads(env_json)
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    results: list[dict[str, Any]] = [
        {"name": "__environment__", "outcome": "passed", "runtime": RUNTIME, "python": sys.version}
    ]
    only = env.get("only")  # OMNIWS_PAGE_ONLY=name,name (test_page_lifecycle.py)
    for name in names(RUNTIME):
        if only and name not in only.split(","):
            continue
        started = time.monotonic()
        try:
            await asyncio.wait_for(TESTS[name][0](env), TEST_TIMEOUT)
        except Exception as exc:  # every failure is reported
            outcome, error = "failed", "".join(traceback.format_exception(exc))
        else:
            outcome, error = "passed", ""
        duration = round(time.monotonic() - started, 3)
        results.append({"name": name, "outcome": outcome, "duration": duration, "error": error})
    return json.dumps(results)
