"""Client tests that run inside Pyodide (Node and Chromium) and natively on CPython.

Only omniws and the standard library are used here: the module is written into Pyodide's
file system as is. Each test is ``async def test_x(env) -> None`` and is registered with the
platforms it applies to ("both", "wasm" or "native"); where the platforms differ, one test
states both behaviours. ``env`` holds the servers' base URLs (tests/wasm/servers.py).

``await run_all(env_json)`` runs every test of this platform in order, each bounded in time,
and returns a JSON list of ``{"name", "outcome", "duration", "error"}``.
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
from omniws import (
    ConfigError,
    ConnectionClosed,
    ConnectionFailed,
    MessageTooLarge,
    ReconnectConfig,
    WebSocketClient,
    WebSocketConfig,
    WebSocketTimeout,
)
from omniws.errors import HandshakeRejected, WebApiError, WebSocketError
from omniws.messages import CloseFrame
from omniws.state import Connected, ConnectionState, Failed, Reconnecting

IS_WASM = sys.platform == "emscripten"
PLATFORM = "wasm" if IS_WASM else "native"
IS_BROWSER = IS_WASM and hasattr(__import__("js"), "document")  # not Node.js
TEST_TIMEOUT = 30.0
STEP = 10.0  # the longest wait of one step of a test

Env = dict[str, str]
TestFunction = Callable[[Env], Awaitable[None]]
TESTS: dict[str, tuple[TestFunction, str]] = {}


def case(platforms: str = "both") -> Callable[[TestFunction], TestFunction]:
    def register(func: TestFunction) -> TestFunction:
        TESTS[func.__name__] = (func, platforms)
        return func

    return register


def names(platform: str) -> list[str]:
    """The tests that run on ``platform`` ("wasm" or "native")."""
    return [name for name, (_, where) in TESTS.items() if where in ("both", platform)]


def pattern(size: int) -> bytes:
    """The payload of py_server's ``/send?size=N``."""
    unit = bytes(range(256))
    return (unit * (size // 256 + 1))[:size]


async def within(awaitable: Awaitable[Any], seconds: float = STEP) -> Any:
    return await asyncio.wait_for(awaitable, seconds)


async def wait_until(predicate: Callable[[], bool], seconds: float = STEP) -> None:
    """Poll ``predicate`` every 20 ms, at most ``seconds``."""
    for _ in range(int(seconds / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"condition not met within {seconds} s")


async def expect(error: type[BaseException], awaitable: Awaitable[Any]) -> Any:
    try:
        await within(awaitable)
    except error as exc:
        return exc
    raise AssertionError(f"{error.__name__} was not raised")


# ---- messages ----------------------------------------------------------------------------
@case()
async def test_platform_backend(env: Env) -> None:
    from omniws import _connect

    assert _connect.Connection.__module__ == (
        "omniws.wasm.connection" if IS_WASM else "omniws.native.connection"
    )
    async with omniws.connect(f"{env['echo']}/echo") as ws:
        assert type(ws).__module__ == _connect.Connection.__module__


@case()
async def test_text(env: Env) -> None:
    async with omniws.connect(f"{env['echo']}/echo") as ws:
        for text in ("hello", "snow \u2603 and \U0001f600", ""):
            await ws.send(text)
            assert await within(ws.recv()) == text


@case()
async def test_binary(env: Env) -> None:
    async with omniws.connect(f"{env['echo']}/echo") as ws:
        for data in (b"\x00\x01\xff", bytearray(b"array"), memoryview(b"view"), b""):
            await ws.send(data)
            received = await within(ws.recv())
            assert type(received) is bytes and received == bytes(data), received


@case()
async def test_send_nowait_from_the_message_handler(env: Env) -> None:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[list[str | bytes]] = loop.create_future()
    async with omniws.connect(f"{env['echo']}/echo") as ws:
        got: list[str | bytes] = []

        def reply(message: str | bytes) -> None:  # a sync callback cannot await send()
            got.append(message)
            if len(got) < 5:
                ws.send_nowait(f"ping {len(got)}")
            elif not done.done():
                done.set_result(got)

        ws.set_message_handler(reply)
        ws.send_nowait(b"start")
        assert await within(done) == [b"start", "ping 1", "ping 2", "ping 3", "ping 4"]
        assert ws.write_paused is False
        try:
            ws.send_nowait({"not": "serialized"})  # type: ignore[arg-type]
        except TypeError as exc:
            assert "json.dumps" in str(exc)
        else:
            raise AssertionError("send_nowait accepted a dict")
    try:
        ws.send_nowait("after close")
    except omniws.ConnectionClosed:
        pass
    else:
        raise AssertionError("send_nowait after close did not raise")


@case()
async def test_binary_1mib(env: Env) -> None:
    payload = pattern(1 << 20)[::-1]
    async with omniws.connect(f"{env['echo']}/echo") as ws:
        await ws.send(payload)
        assert await within(ws.recv()) == payload
    async with omniws.connect(f"{env['echo']}/send?size={1 << 20}") as ws:
        assert await within(ws.recv()) == pattern(1 << 20)


@case()
async def test_send_backpressure(env: Env) -> None:
    chunk = pattern(32 * 1024)
    async with omniws.connect(f"{env['echo']}/echo", write_limit=8 * 1024) as ws:
        for i in range(32):
            await ws.send(chunk[i:] + chunk[:i])
        for i in range(32):
            assert await within(ws.recv()) == chunk[i:] + chunk[:i]


@case()
async def test_subprotocol(env: Env) -> None:
    async with omniws.connect(
        f"{env['echo']}/subprotocol", protocols=["x-none", "superchat"]
    ) as ws:
        assert ws.subprotocol == "superchat"
        assert await within(ws.recv()) == "superchat"
    async with omniws.connect(f"{env['echo']}/subprotocol") as ws:
        assert ws.subprotocol is None
        assert await within(ws.recv()) == ""


@case()
async def test_max_message_size(env: Env) -> None:
    ws = await within(omniws.connect(f"{env['echo']}/send?size=2000", max_message_size=1000))
    error = await expect(MessageTooLarge, ws.recv())
    assert error.size > 1000 and error.max_size == 1000, (error.size, error.max_size)
    assert ws.close_code == 1009
    await within(ws.wait_closed())
    record = uuid.uuid4().hex
    ws = await within(omniws.connect(f"{env['echo']}/record?id={record}", max_message_size=100))
    await ws.send("x" * 101)  # echoed: too large on arrival
    await expect(MessageTooLarge, ws.recv())
    await within(ws.wait_closed())
    report = await server_report(env, record)
    # what the server was sent: browsers refuse 1009 from scripts, so 4009 there
    assert report["code"] == (4009 if IS_BROWSER else 1009), report


# ---- closing -----------------------------------------------------------------------------
@case()
async def test_server_close_code_and_reason(env: Env) -> None:
    ws = await within(omniws.connect(f"{env['echo']}/close?code=4001&reason=bye"))
    error = await expect(ConnectionClosed, ws.recv())
    assert (error.code, error.reason) == (4001, "bye")
    assert await within(ws.wait_closed()) == CloseFrame(4001, "bye")
    assert (ws.close_code, ws.close_reason) == (4001, "bye")
    async with omniws.connect(f"{env['echo']}/close?code=1000") as ws:
        assert [message async for message in ws] == []  # iteration ends on 1000


async def server_report(env: Env, record: str) -> dict[str, Any]:
    """How py_server saw the ``/record?id=...`` connection close (polled, bounded)."""
    for _ in range(100):  # the server records the close when its handler ends
        async with omniws.connect(f"{env['echo']}/report?id={record}") as reporter:
            report: dict[str, Any] = json.loads(await within(reporter.recv()))
        if report:
            return report
        await asyncio.sleep(0.05)
    raise AssertionError(f"the server recorded no close for {record}")


@case()
async def test_client_close_code_and_reason(env: Env) -> None:
    record = uuid.uuid4().hex
    ws = await within(omniws.connect(f"{env['echo']}/record?id={record}"))
    await within(ws.close(4002, "client bye \u2603"))
    assert ws.close_code == 4002
    await expect(ConnectionClosed, ws.send("too late"))
    report = await server_report(env, record)
    assert report == {"code": 4002, "reason": "client bye \u2603"}, report


@case("wasm")
async def test_close_codes_the_browser_refuses(env: Env) -> None:
    async with omniws.connect(f"{env['echo']}/echo") as ws:
        for code in (1001, 1009, 2999, 5000):
            error = await expect(ValueError, ws.close(code))
            assert "1000 or an application code from 3000 to 4999" in str(error)
        error = await expect(ValueError, ws.close(4000, "x" * 124))
        assert "123 UTF-8 bytes" in str(error)
        await ws.send("still open")
        assert await within(ws.recv()) == "still open"


@case()
async def test_close_refuses_bad_codes_before_anything_changes(env: Env) -> None:
    async with omniws.connect(f"{env['echo']}/echo") as ws:
        error = await expect(TypeError, ws.close("4001"))  # type: ignore[arg-type]
        assert "must be an int" in str(error)
        for code in (70000, -1):
            error = await expect(ValueError, ws.close(code))
            assert f"close code {code} cannot be sent" in str(error)
        assert not ws.closed
        await ws.send("still open")
        assert await within(ws.recv()) == "still open"


@case()
async def test_a_second_concurrent_recv_fails_alone(env: Env) -> None:
    async with omniws.connect(f"{env['echo']}/echo") as ws:
        first = asyncio.ensure_future(ws.recv())
        await asyncio.sleep(0.05)
        error = await expect(RuntimeError, ws.recv())
        assert "already waiting in another task" in str(error)
        await ws.send("to the first reader")
        assert await within(first) == "to the first reader"


# ---- failures ----------------------------------------------------------------------------
@case()
async def test_refused_connection(env: Env) -> None:
    error = await expect(ConnectionFailed, omniws.connect(env["refused"], connect_timeout=5))
    assert error.recoverable
    if IS_WASM:
        assert "browser reports no reason" in str(error), error


@case()
async def test_handshake_401(env: Env) -> None:
    connecting = omniws.connect(f"{env['echo']}/status/401", connect_timeout=5)
    error = await expect(ConnectionFailed, connecting)
    if IS_WASM:  # the browser hides the status: recoverable, and the message says why
        assert not isinstance(error, HandshakeRejected) and error.recoverable
        assert "401" in str(error) and "4xxx" in str(error), error
    else:
        assert isinstance(error, HandshakeRejected) and error.status == 401
        assert not error.recoverable


@case()
async def test_connect_timeout(env: Env) -> None:
    started = time.monotonic()
    error = await expect(WebSocketTimeout, omniws.connect(env["hang"], connect_timeout=0.5))
    assert error.operation == "connect"
    assert time.monotonic() - started < 5


@case()
async def test_headers(env: Env) -> None:
    url = f"{env['echo']}/headers"
    if IS_WASM:  # never silently dropped
        error = await expect(ConfigError, omniws.connect(url, headers={"X-Token": "t"}))
        assert error.field == "headers"
        assert "subprotocol" in str(error) and "query" in str(error), error
        error = await expect(ConfigError, omniws.connect(url, origin="http://example.org"))
        assert error.field == "origin"
    else:
        async with omniws.connect(url, headers={"X-Token": "t"}) as ws:
            assert json.loads(await within(ws.recv()))["x-token"] == "t"


@case()
async def test_ping(env: Env) -> None:
    async with omniws.connect(f"{env['echo']}/echo") as ws:
        if IS_WASM:
            error = await expect(WebApiError, ws.ping())
            assert "not supported in browsers" in str(error)
            assert "heartbeat_message" in str(error)
        else:
            assert 0 <= await within(ws.ping()) < STEP


# ---- the supervisor ----------------------------------------------------------------------
@case()
async def test_reconnect_after_server_restart(env: Env) -> None:
    config = WebSocketConfig(
        url=f"{env['restart']}/echo",
        heartbeat_interval=None,
        connect_timeout=5,
        reconnect=ReconnectConfig(initial_delay=0.1, max_delay=0.5, jitter=0),
    )
    client = WebSocketClient(config)
    states: list[ConnectionState] = []
    client.on_state_change(states.append)
    opened = 0

    @client.on_open
    async def subscribe() -> None:
        nonlocal opened
        opened += 1
        await client.send(f"subscribe {opened}")

    async with client:
        assert await within(client.recv()) == "subscribe 1"
        async with omniws.connect(f"{env['harness']}/control") as control:
            await control.send("restart")
            assert await within(control.recv(), 20) == "restarted"
        assert await within(client.recv(), 20) == "subscribe 2"
        await client.send("after")
        assert await within(client.recv()) == "after"
        assert any(isinstance(state, Reconnecting) for state in states), states
        assert client.stats.reconnects >= 1 and isinstance(client.state, Connected)


@case()
async def test_heartbeat_detects_silent_server(env: Env) -> None:
    config = WebSocketConfig(
        url=f"{env['harness']}/silent",
        heartbeat_interval=0.2,
        heartbeat_timeout=0.5,
        heartbeat_message="heartbeat?",
        reconnect=None,
    )
    client = WebSocketClient(config)
    errors: list[WebSocketError] = []
    client.on_error(errors.append)
    started = time.monotonic()
    async with client:
        await wait_until(lambda: isinstance(client.state, Failed))
    assert time.monotonic() - started < 5
    timeouts = [e for e in errors if isinstance(e, WebSocketTimeout)]
    assert timeouts and timeouts[0].operation == "heartbeat", errors


@case()
async def test_heartbeat_message_keeps_echo_alive(env: Env) -> None:
    config = WebSocketConfig(
        url=f"{env['echo']}/echo",
        heartbeat_interval=0.1,
        heartbeat_timeout=0.5,
        heartbeat_message=b"hb",
        reconnect=None,
    )
    client = WebSocketClient(config)
    errors: list[WebSocketError] = []
    client.on_error(errors.append)
    async with client:
        beats = [await within(client.recv()) for _ in range(4)]  # echoed heartbeats
        assert beats == [b"hb"] * 4
        assert isinstance(client.state, Connected) and not errors, (client.state, errors)


@case("wasm")
async def test_heartbeat_without_message_warns_once(env: Env) -> None:
    from omniws.client import heartbeat as heartbeat_module

    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("omniws.client")
    logger.addHandler(handler)
    heartbeat_module._warned_no_ping = False
    try:
        for _ in range(2):
            config = WebSocketConfig(url=f"{env['echo']}/echo", heartbeat_interval=0.05)
            async with WebSocketClient(config) as client:
                await asyncio.sleep(0.3)
                assert isinstance(client.state, Connected)
    finally:
        logger.removeHandler(handler)
    warnings = [r for r in records if "heartbeat_message" in r.getMessage()]
    assert len(warnings) == 1, [r.getMessage() for r in records]
    assert "not supported in browsers" in warnings[0].getMessage()


# ---- running -----------------------------------------------------------------------------
async def run_one(name: str, env: Env) -> None:
    func, _ = TESTS[name]
    await asyncio.wait_for(func(env), TEST_TIMEOUT)


async def run_all(env_json: str, only_json: str = "null") -> str:
    """Run this platform's tests (or those named in ``only_json``); JSON results."""
    env: Env = json.loads(env_json)
    only: list[str] | None = json.loads(only_json)
    results: list[dict[str, Any]] = [
        {
            "name": "__environment__",
            "outcome": "passed",
            "python": sys.version,
            "platform": sys.platform,
        }
    ]
    for name in only if only is not None else names(PLATFORM):
        started = time.monotonic()
        try:
            await run_one(name, env)
        except BaseException as exc:  # every failure is reported
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            outcome, error = "failed", "".join(traceback.format_exception(exc))
        else:
            outcome, error = "passed", ""
        results.append(
            {
                "name": name,
                "outcome": outcome,
                "duration": round(time.monotonic() - started, 3),
                "error": error,
            }
        )
    return json.dumps(results)
