"""WebSocketClient on a fake connection, in virtual time (see fakes.py): minutes of backoff
and heartbeat take no real time, and every test checks that no task is left behind."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from fakes import FakeConnection, FakeConnectionWithoutPauseHook, FakeServer, run

from omniws.client import EventHandlers, HandlerError, WebSocketClient
from omniws.config import ReconnectConfig, WebSocketConfig
from omniws.errors import (
    ConfigError,
    ConnectionClosed,
    ConnectionFailed,
    HandshakeRejected,
    WebSocketError,
    WebSocketTimeout,
)
from omniws.messages import CloseFrame
from omniws.state import (
    Closing,
    Connected,
    Connecting,
    ConnectionState,
    Disconnected,
    Failed,
    Reconnecting,
)

REFUSED = ConnectionFailed("connection refused")


def make(
    server: FakeServer,
    *,
    reconnect: ReconnectConfig | None = ReconnectConfig(jitter=0),  # noqa: B008
    handlers: EventHandlers | None = None,
    should_retry: Callable[[Any], bool | None] | None = None,
    **config: Any,
) -> WebSocketClient:
    return WebSocketClient(
        WebSocketConfig("ws://test.invalid/feed", reconnect=reconnect, **config),
        handlers=handlers,
        should_retry=should_retry,
        open_connection=server.open_connection,
        rng=random.Random(1),
    )


def record_states(client: WebSocketClient) -> list[ConnectionState]:
    states: list[ConnectionState] = []
    client.on_state_change(states.append)
    return states


def record_errors(client: WebSocketClient) -> list[WebSocketError]:
    errors: list[WebSocketError] = []
    client.on_error(errors.append)
    return errors


def no_tasks_left() -> None:
    assert asyncio.all_tasks() == {asyncio.current_task()}


def now() -> float:
    return asyncio.get_running_loop().time()


def vtest(fn: Callable[[], Awaitable[None]]) -> Callable[[], None]:
    """Run an async test body in virtual time (not through pytest-asyncio)."""

    def wrapper() -> None:
        run(fn())  # type: ignore[arg-type]

    wrapper.__name__ = fn.__name__
    return wrapper


# --- connecting and states ------------------------------------------------------------------
@vtest
async def test_connect_states_and_on_open_order() -> None:
    server = FakeServer()
    client = make(server)
    events: list[object] = []
    client.on_state_change(events.append)
    client.on_open(lambda: events.append("open"))
    assert client.state == Disconnected()
    await client.connect()
    events.append("connected")
    assert events == [Connecting(0), Connected(), "open", "connected"]
    await client.close()
    assert events[-2:] == [Closing(), Disconnected()]
    assert server.current.closed_by_client == CloseFrame(1000, "")
    no_tasks_left()


@vtest
async def test_async_with_closes_with_code() -> None:
    server = FakeServer()
    async with make(server) as client:
        assert isinstance(client.state, Connected)
        await client.send("x")
    assert isinstance(client.state, Disconnected)
    await client.close(4000, "again")  # idempotent
    no_tasks_left()


@vtest
async def test_url_string_and_bad_config() -> None:
    client = WebSocketClient("ws://example.invalid/", open_connection=FakeServer().open_connection)
    assert client.config.url == "ws://example.invalid/"
    with pytest.raises(ConfigError):
        WebSocketClient("http://example.invalid/")
    for bad in (None, b"ws://example.invalid/", 12345, ""):  # one rule: ConfigError
        with pytest.raises(ConfigError, match=r"url|config"):
            WebSocketClient(bad)  # type: ignore[arg-type]


@vtest
async def test_backoff_sequence_in_time() -> None:
    server = FakeServer(REFUSED, REFUSED, REFUSED)
    client = make(server, reconnect=ReconnectConfig(initial_delay=1, multiplier=3, jitter=0))
    states = record_states(client)
    await client.connect()
    retries = [s for s in states if isinstance(s, Reconnecting)]
    assert [(s.attempt, s.delay) for s in retries] == [(1, 1.0), (2, 3.0), (3, 9.0)]
    gaps = [b - a for a, b in zip(server.attempts, server.attempts[1:], strict=False)]
    assert gaps == pytest.approx([1.001, 3.001, 9.001])
    for state, attempt_time in zip(retries, server.attempts[1:], strict=True):
        assert state.next_retry == pytest.approx(attempt_time)  # loop time of the attempt
        assert state.cause is REFUSED
    assert [s.attempt for s in states if isinstance(s, Connecting)] == [0, 1, 2, 3]
    await client.close()
    no_tasks_left()


@vtest
async def test_jitter_is_applied_within_bounds() -> None:
    server = FakeServer(*[REFUSED] * 6)
    config = ReconnectConfig(initial_delay=1, max_delay=4, jitter=0.5)
    client = make(server, reconnect=config)
    states = record_states(client)
    await client.connect()
    delays = [s.delay for s in states if isinstance(s, Reconnecting)]
    bases = [1, 2, 4, 4, 4, 4]
    assert all(b * 0.5 <= d <= b * 1.5 for b, d in zip(bases, delays, strict=True))
    assert len(set(delays)) == len(delays)  # really jittered
    await client.close()


@vtest
async def test_retry_after_is_honoured() -> None:
    rejected = HandshakeRejected(503, "Service Unavailable", {"retry-after": "42"})
    too_many = HandshakeRejected(429, "Too Many Requests", {})
    server = FakeServer(rejected, too_many)
    client = make(server)
    states = record_states(client)
    await client.connect()
    delays = [s.delay for s in states if isinstance(s, Reconnecting)]
    assert delays == [42.0, 1.0]
    assert server.attempts[1] - server.attempts[0] == pytest.approx(42.001)
    await client.close()


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_http_4xx_is_not_retried(status: int) -> None:
    async def main() -> None:
        server = FakeServer(HandshakeRejected(status, "No", {}))
        client = make(server)
        with pytest.raises(HandshakeRejected):
            await client.connect()
        assert isinstance(client.state, Failed) and client.state.recoverable is False
        assert len(server.attempts) == 1
        with pytest.raises(HandshakeRejected):
            await client.send("x")
        await client.close()
        assert isinstance(client.state, Failed)  # close() keeps the reason
        no_tasks_left()

    run(main())


@vtest
async def test_certificate_failure_is_not_retried() -> None:
    # what the native opener raises for a certificate failure (tests/integration/test_tls.py)
    server = FakeServer(ConnectionFailed("TLS certificate verification failed", recoverable=False))
    client = make(server)
    with pytest.raises(ConnectionFailed):
        await client.connect()
    assert isinstance(client.state, Failed) and not client.state.recoverable
    assert len(server.attempts) == 1
    no_tasks_left()


@vtest
async def test_max_attempts_gives_failed() -> None:
    server = FakeServer(*[REFUSED] * 10)
    client = make(server, reconnect=ReconnectConfig(max_attempts=3, jitter=0))
    states = record_states(client)
    errors = record_errors(client)
    with pytest.raises(ConnectionFailed):
        await client.connect()
    assert len(server.attempts) == 4  # the first attempt and 3 retries
    assert states[-1] == Failed(REFUSED, True)
    assert len(errors) == 4
    no_tasks_left()
    # connect() after Failed starts over with a fresh budget
    server.script.clear()
    await client.connect()
    assert client.state == Connected()
    await client.close()
    no_tasks_left()


@vtest
async def test_max_attempts_counts_flapping_connections() -> None:
    server = FakeServer()
    client = make(server, reconnect=ReconnectConfig(max_attempts=2, jitter=0, reset_after=10))
    await client.connect()
    for n in (1, 2, 3):
        await asyncio.sleep(1)  # up for less than reset_after
        server.connections[n - 1].drop()
        if n < 3:
            await server.next_connection(n + 1)
    await asyncio.sleep(100)
    assert isinstance(client.state, Failed) and client.state.recoverable
    assert len(server.connections) == 3
    await client.close()


@vtest
async def test_reset_after_a_connection_that_stayed_up() -> None:
    server = FakeServer(REFUSED, REFUSED)
    client = make(server, reconnect=ReconnectConfig(initial_delay=1, jitter=0, reset_after=10))
    states = record_states(client)
    await client.connect()  # after delays 1, 2
    await asyncio.sleep(3)
    server.current.drop()  # up 3 s: no reset
    await server.next_connection(2)
    await asyncio.sleep(10)
    server.current.drop()  # up 10 s: reset
    await server.next_connection(3)
    delays = [s.delay for s in states if isinstance(s, Reconnecting)]
    assert delays == [1.0, 2.0, 4.0, 1.0]
    await client.close()


@vtest
async def test_connect_timeout_is_retried() -> None:
    server = FakeServer(100.0)  # the first attempt hangs
    client = make(server, connect_timeout=5)
    errors = record_errors(client)
    await client.connect()
    assert isinstance(errors[0], WebSocketTimeout) and errors[0].operation == "connect"
    assert server.attempts[1] == pytest.approx(5.5)
    await client.close()
    no_tasks_left()


# --- retry decisions on close codes ---------------------------------------------------------
@pytest.mark.parametrize("code", [1006, 1011, 1012, 1013, 1014, 1000, 1001])
def test_retried_close_codes(code: int) -> None:
    async def main() -> None:
        server = FakeServer()
        client = make(server)
        await client.connect()
        server.current.server_close(code)
        await server.next_connection(2)
        await client.wait_connected(timeout=5)
        assert client.stats.reconnects == 1
        await client.close()
        no_tasks_left()

    run(main())


@pytest.mark.parametrize("code", [1002, 1003, 1007, 1008, 1009, 1010, 4000])
def test_not_retried_close_codes(code: int) -> None:
    async def main() -> None:
        server = FakeServer()
        client = make(server)
        await client.connect()
        server.current.server_close(code, "no")
        await asyncio.sleep(60)
        assert len(server.connections) == 1
        state = client.state
        assert isinstance(state, Failed) and not state.recoverable
        assert isinstance(state.error, ConnectionClosed) and state.error.code == code
        with pytest.raises(ConnectionClosed):
            await client.recv()
        no_tasks_left()

    run(main())


@vtest
async def test_normal_close_not_retried_when_configured_ends_iteration() -> None:
    server = FakeServer()
    client = make(server, reconnect=ReconnectConfig(retry_on_normal_close=False))
    await client.connect()
    server.current.push("last")
    server.current.server_close(1001, "bye")
    received = [message async for message in client]
    assert received == ["last"]
    assert client.state == Disconnected()
    with pytest.raises(ConnectionClosed) as info:
        await client.send("x")
    assert info.value.code == 1001
    no_tasks_left()


@vtest
async def test_reconnect_disabled() -> None:
    server = FakeServer()
    client = make(server, reconnect=None)
    await client.connect()
    server.current.drop()
    await asyncio.sleep(10)
    assert isinstance(client.state, Failed) and client.state.recoverable
    assert len(server.connections) == 1
    with pytest.raises(ConnectionClosed):
        await anext(aiter(client))
    await client.close()
    no_tasks_left()


@vtest
async def test_error_that_ended_the_connection_drives_the_decision() -> None:
    server = FakeServer()
    client = make(server)
    errors = record_errors(client)
    await client.connect()
    server.current.drop(ConnectionFailed("reset by peer", recoverable=False))
    await asyncio.sleep(10)
    assert isinstance(client.state, Failed) and not client.state.recoverable
    assert str(errors[-1]) == "reset by peer"
    await client.close()


@vtest
async def test_should_retry_hook() -> None:
    seen: list[object] = []

    def hook(cause: object) -> bool | None:
        seen.append(cause)
        if isinstance(cause, HandshakeRejected):
            return True  # a refreshed token may help
        if isinstance(cause, CloseFrame) and cause.code == 1012:
            return False
        return None

    server = FakeServer(HandshakeRejected(401, "Unauthorized", {}))
    client = make(server, should_retry=hook)
    await client.connect()
    assert len(server.attempts) == 2
    server.current.drop()  # None: default decision, retried
    await server.next_connection(2)
    server.current.server_close(1012)
    await asyncio.sleep(10)
    assert isinstance(client.state, Failed) and client.state.recoverable
    assert len(seen) == 3
    await client.close()
    no_tasks_left()


@vtest
async def test_should_retry_hook_that_raises_is_reported() -> None:
    def hook(cause: object) -> bool | None:
        raise RuntimeError("hook bug")

    server = FakeServer(REFUSED)
    client = make(server, should_retry=hook)
    errors = record_errors(client)
    await client.connect()  # default decision: retried
    hook_errors = [e for e in errors if isinstance(e, HandlerError)]
    assert hook_errors and isinstance(hook_errors[0].__cause__, RuntimeError)
    await client.close()


# --- close ----------------------------------------------------------------------------------
@vtest
async def test_close_during_backoff_is_prompt() -> None:
    server = FakeServer(*[REFUSED] * 5)
    client = make(server, reconnect=ReconnectConfig(initial_delay=600, max_delay=600))
    states = record_states(client)
    connecting = asyncio.ensure_future(client.connect())
    await asyncio.sleep(1)
    assert isinstance(client.state, Reconnecting)
    started = now()
    await client.close()
    assert now() - started < 0.1
    assert states[-2:] == [Closing(), Disconnected()]
    with pytest.raises(ConnectionClosed):
        await connecting
    assert len(server.attempts) == 1
    no_tasks_left()


@vtest
async def test_close_while_connecting_is_prompt() -> None:
    server = FakeServer(500.0)
    client = make(server, connect_timeout=None)
    connecting = asyncio.ensure_future(client.connect())
    await asyncio.sleep(1)
    started = now()
    await client.close()
    assert now() - started < 0.1
    with pytest.raises(ConnectionClosed):
        await connecting
    assert client.state == Disconnected()
    no_tasks_left()


@vtest
async def test_concurrent_close_calls_and_close_before_connect() -> None:
    server = FakeServer()
    client = make(server)
    await client.close()  # never started: nothing to do
    assert client.state == Disconnected()
    await client.connect()
    await asyncio.gather(client.close(), client.close(1001), client.close())
    assert client.state == Disconnected()
    assert server.current.closed_by_client == CloseFrame(1000, "")
    no_tasks_left()


@vtest
async def test_close_is_never_retried_and_reports_no_error() -> None:
    server = FakeServer()
    client = make(server)
    errors = record_errors(client)
    closes: list[CloseFrame] = []
    client.on_close(closes.append)
    await client.connect()
    await client.close(4001, "done")
    await asyncio.sleep(100)
    assert len(server.connections) == 1
    assert closes == [CloseFrame(4001, "done")]
    assert errors == []


@vtest
async def test_client_can_be_restarted_after_close() -> None:
    server = FakeServer()
    client = make(server)
    await client.connect()
    await client.close()
    await client.connect()
    assert client.state == Connected() and len(server.connections) == 2
    await client.close()
    no_tasks_left()


@vtest
async def test_close_from_an_on_open_handler() -> None:
    server = FakeServer()
    client = make(server)

    @client.on_open
    async def opened() -> None:
        await client.close()

    with pytest.raises(ConnectionClosed):
        await client.connect()
    await asyncio.sleep(1)
    assert client.state == Disconnected()
    no_tasks_left()


# --- sending ----------------------------------------------------------------------------------
@vtest
async def test_send_while_reconnecting_waits_and_on_open_goes_first() -> None:
    server = FakeServer()
    client = make(server)

    @client.on_open
    async def subscribe() -> None:
        await client.send("subscribe")

    await client.connect()
    server.script.extend([REFUSED, REFUSED])
    server.current.drop()
    await asyncio.sleep(0.1)
    assert isinstance(client.state, Reconnecting)
    sending = asyncio.ensure_future(client.send("queued"))
    await asyncio.sleep(0.1)
    assert not sending.done()
    await sending
    # conn 1 opened after two refused attempts; on_open's send went before the queued one
    assert server.inbox == [(0, "subscribe"), (1, "subscribe"), (1, "queued")]
    assert server.attempts[-1] > 1.0  # waited for the backoff, not failed at once
    await client.close()
    no_tasks_left()


@vtest
async def test_send_timeout_while_reconnecting() -> None:
    server = FakeServer()
    client = make(server, send_timeout=5, reconnect=ReconnectConfig(initial_delay=60, max_delay=60))
    await client.connect()
    server.current.drop()
    started = now()
    with pytest.raises(WebSocketTimeout) as info:
        await client.send("late")
    assert info.value.operation == "send"
    assert now() - started == pytest.approx(5)
    assert server.inbox == []
    await client.close()
    no_tasks_left()


@vtest
async def test_send_on_closed_failed_or_unstarted_client_raises() -> None:
    server = FakeServer(HandshakeRejected(403, "Forbidden", {}))
    client = make(server)
    with pytest.raises(ConnectionClosed, match="connect"):
        await client.send("x")
    with pytest.raises(HandshakeRejected):
        await client.connect()
    with pytest.raises(HandshakeRejected):
        await client.send("x")
    await client.connect()
    await client.close()
    with pytest.raises(ConnectionClosed):
        await client.send("x")


@vtest
async def test_waiting_send_fails_when_the_client_fails() -> None:
    server = FakeServer()
    client = make(server)
    await client.connect()
    server.script.append(HandshakeRejected(401, "Unauthorized", {}))
    server.current.drop()
    with pytest.raises(HandshakeRejected):
        await client.send("x")
    await client.close()


@vtest
async def test_wait_connected() -> None:
    server = FakeServer(REFUSED)
    client = make(server, reconnect=ReconnectConfig(initial_delay=30, jitter=0))
    with pytest.raises(ConnectionClosed):
        await client.wait_connected(1)  # never started
    connecting = asyncio.ensure_future(client.connect())
    await asyncio.sleep(0.1)
    with pytest.raises(WebSocketTimeout):
        await client.wait_connected(timeout=10)
    await client.wait_connected(timeout=30)
    await connecting
    await client.close()


# --- receiving --------------------------------------------------------------------------------
@vtest
async def test_iteration_across_reconnects_ends_at_close() -> None:
    server = FakeServer()
    client = make(server)
    await client.connect()
    server.current.push("a", b"b")
    server.current.drop()
    conn = await server.next_connection(2)
    conn.push("c")
    received: list[object] = []

    async def consume() -> None:
        async for message in client:
            received.append(message)

    consumer = asyncio.ensure_future(consume())
    await asyncio.sleep(1)
    await client.close()
    await consumer
    assert received == ["a", b"b", "c"]
    no_tasks_left()


@vtest
async def test_recv_waits_for_next_message() -> None:
    server = FakeServer()
    client = make(server)
    await client.connect()
    getting = asyncio.ensure_future(client.recv())
    await asyncio.sleep(1)
    server.current.push("late")
    assert await getting == "late"
    await client.close()


@vtest
async def test_backpressure_keeps_order_across_reconnects() -> None:
    server = FakeServer()
    client = make(server, max_queue=3)
    await client.connect()
    first = server.current
    first.push(*[f"a{i}" for i in range(10)])
    assert first.paused  # the client inbox filled, then the connection's own queue
    first.drop()
    second = await server.next_connection(2)
    second.push(*[f"b{i}" for i in range(5)])
    received = [await client.recv() for _ in range(11)]
    # 3 in the client inbox + 3 in the connection's queue; a drop loses what the connection
    # had not read yet, as on a socket
    assert received == [f"a{i}" for i in range(6)] + [f"b{i}" for i in range(5)]
    await client.close()


@vtest
async def test_sync_on_message_runs_straight_from_the_parser() -> None:
    server = FakeServer()
    received: list[object] = []
    client = make(server, handlers=EventHandlers(on_message=received.append))
    await client.connect()
    server.current.push("x", "y")
    assert received == ["x", "y"]  # no await in between
    with pytest.raises(RuntimeError):
        await client.recv()
    await client.close()
    assert client.stats.messages_in == 2


@vtest
async def test_async_on_message_handlers_run_in_order_on_one_task() -> None:
    server = FakeServer()
    client = make(server)
    seen: list[tuple[str, object]] = []
    tasks: set[asyncio.Task[Any] | None] = set()

    @client.on_message
    async def slow(message: str) -> None:
        tasks.add(asyncio.current_task())
        await asyncio.sleep(5 if message == "1" else 0.1)
        seen.append(("slow", message))

    @client.on_message
    def fast(message: str) -> None:
        seen.append(("fast", message))

    await client.connect()
    server.current.push("1", "2", "3")
    await asyncio.sleep(20)
    assert seen == [(kind, m) for m in "123" for kind in ("slow", "fast")]
    assert len(tasks) == 1
    await client.close()
    no_tasks_left()


# --- handlers that raise ----------------------------------------------------------------------
@vtest
async def test_raising_handlers_are_reported_and_the_client_keeps_running() -> None:
    server = FakeServer()
    client = make(server)
    errors = record_errors(client)
    received: list[object] = []

    @client.on_message
    def bad(message: object) -> None:
        if message == "boom":
            raise ValueError("handler bug")
        received.append(message)

    @client.on_open
    async def bad_open() -> None:
        raise KeyError("open bug")

    @client.on_state_change
    async def bad_state(state: ConnectionState) -> None:
        raise RuntimeError("state bug")

    @client.on_error
    def bad_error_handler(error: WebSocketError) -> None:
        raise RuntimeError("on_error bug: must only be logged")

    await client.connect()
    server.current.push("a", "boom", "b")
    await asyncio.sleep(1)
    assert received == ["a", "b"]
    causes = [type(e.__cause__) for e in errors if isinstance(e, HandlerError)]
    assert ValueError in causes and KeyError in causes and RuntimeError in causes
    assert client.state == Connected()
    await client.send("still works")
    await client.close()
    no_tasks_left()


def test_handler_errors_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        server = FakeServer()
        client = make(server)
        client.on_open(lambda: 1 / 0)
        await client.connect()
        await client.close()

    with caplog.at_level("ERROR", logger="omniws.client"):
        run(main())
    assert any("ZeroDivisionError" in r.getMessage() for r in caplog.records)


@vtest
async def test_async_event_handlers_run_in_order_and_finish_before_close_returns() -> None:
    server = FakeServer()
    client = make(server)
    seen: list[object] = []

    @client.on_state_change
    async def changed(state: ConnectionState) -> None:
        await asyncio.sleep(1)
        seen.append(state)

    @client.on_close
    async def closed(frame: CloseFrame) -> None:
        seen.append(frame)

    await client.connect()
    await client.close()
    assert seen == [Connecting(0), Connected(), Closing(), CloseFrame(1000), Disconnected()]
    no_tasks_left()


# --- heartbeat ------------------------------------------------------------------------------
@vtest
async def test_heartbeat_timeout_aborts_and_reconnects() -> None:
    server = FakeServer()
    client = make(server, heartbeat_interval=10, heartbeat_timeout=5)
    states = record_states(client)
    errors = record_errors(client)
    await client.connect()
    first = server.current
    first.answer_pings = False  # the peer went silent
    conn = await server.next_connection(2)
    assert first.aborted and first.pings == 1
    dead_at = next(s for s in states if isinstance(s, Reconnecting))
    assert isinstance(dead_at.cause, WebSocketTimeout) and dead_at.cause.operation == "heartbeat"
    # dead at interval + timeout after the connection opened (at 0.001)
    assert dead_at.next_retry - dead_at.delay == pytest.approx(15.0, abs=0.01)
    assert any(isinstance(e, WebSocketTimeout) for e in errors)
    assert conn is server.current and client.state == Connected()
    await client.close()
    no_tasks_left()


@vtest
async def test_heartbeat_pings_only_after_silence_and_records_rtt() -> None:
    server = FakeServer()
    client = make(server, heartbeat_interval=10, heartbeat_timeout=5)
    await client.connect()
    conn = server.current
    conn.answer_pings = False
    for _ in range(10):  # data every 6 s: never 10 s of silence
        await asyncio.sleep(6)
        conn.push("tick")
    assert conn.pings == 0 and not conn.aborted
    conn.answer_pings = True
    conn.pong_delay = 0.25
    await asyncio.sleep(30)
    assert conn.pings >= 2
    assert client.stats.last_rtt == pytest.approx(0.25)
    await client.close()


@vtest
async def test_other_data_during_the_ping_counts_as_alive() -> None:
    server = FakeServer()
    client = make(server, heartbeat_interval=10, heartbeat_timeout=5)
    await client.connect()
    conn = server.current
    conn.answer_pings = False
    await asyncio.sleep(12)  # the ping went out at 10
    conn.push("late but alive")
    await asyncio.sleep(4)  # the ping timed out at 15: data arrived after it
    assert not conn.aborted
    await client.close()


@vtest
async def test_busy_consumer_is_not_a_dead_peer() -> None:
    server = FakeServer()
    client = make(server, heartbeat_interval=10, heartbeat_timeout=5, max_queue=4)
    await client.connect()
    conn = server.current
    conn.push(*[str(i) for i in range(50)])
    assert conn.paused  # the connection stopped reading: pongs stay unread too
    await asyncio.sleep(300)  # the application is busy, not reading
    assert not conn.aborted and len(server.connections) == 1
    received = [await client.recv() for _ in range(50)]
    assert received == [str(i) for i in range(50)]
    # caught up: the heartbeat works again, and detects a dead peer
    conn.answer_pings = False
    await asyncio.sleep(60)
    assert conn.aborted
    await client.close()
    no_tasks_left()


@vtest
async def test_busy_consumer_without_the_pause_hook() -> None:
    server = FakeServer(connection_class=FakeConnectionWithoutPauseHook)
    client = make(server, heartbeat_interval=10, heartbeat_timeout=5, max_queue=4)
    await client.connect()
    conn = server.current
    conn.push(*[str(i) for i in range(50)])
    await asyncio.sleep(300)
    assert not conn.aborted and len(server.connections) == 1
    received: list[object] = []

    async def consume() -> None:
        async for message in client:
            received.append(message)

    consumer = asyncio.ensure_future(consume())
    await asyncio.sleep(1)
    assert received == [str(i) for i in range(50)]
    # the reader waits on the connection: silence counts again
    conn.answer_pings = False
    await asyncio.sleep(60)
    assert conn.aborted
    await client.close()
    await consumer
    no_tasks_left()


@vtest
async def test_heartbeat_disabled() -> None:
    server = FakeServer()
    client = make(server, heartbeat_interval=None)
    await client.connect()
    await asyncio.sleep(1000)
    assert server.current.pings == 0
    await client.close()
    no_tasks_left()


# --- stats ------------------------------------------------------------------------------------
@vtest
async def test_stats() -> None:
    server = FakeServer()
    client = make(server, heartbeat_interval=None)
    await client.connect()
    server.current.push("héllo", b"\x00\x01\x02")
    assert await client.recv() == "héllo"
    assert await client.recv() == b"\x00\x01\x02"
    await client.send("abc")
    await client.send(memoryview(b"12345"))
    await asyncio.sleep(10)
    server.current.drop()
    await server.next_connection(2)
    await asyncio.sleep(5)
    stats = client.stats
    assert (stats.messages_in, stats.bytes_in) == (2, 6 + 3)
    assert (stats.messages_out, stats.bytes_out) == (2, 8)
    assert (stats.connections, stats.reconnects) == (2, 1)
    assert stats.connected_time == pytest.approx(15, abs=0.1)
    assert stats.last_rtt is None
    await client.close()


@vtest
async def test_close_in_the_step_where_the_opening_completes() -> None:
    # asyncio.wait_for (3.11) returns the result of an inner task that finished in the same
    # step as the cancellation, swallowing it: the supervisor must still stop, and the
    # connection it got must not stay open.
    server = FakeServer()
    gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    opened: list[FakeConnection] = []

    async def opener(config: WebSocketConfig) -> FakeConnection:
        await gate
        opened.append(FakeConnection(server, config))
        return opened[-1]

    client = WebSocketClient(
        WebSocketConfig("ws://test.invalid/feed", connect_timeout=30),
        open_connection=opener,
    )
    connecting = asyncio.ensure_future(client.connect())
    await asyncio.sleep(1)
    gate.set_result(None)
    closing = asyncio.ensure_future(client.close())
    await asyncio.wait_for(closing, 5)  # hung forever on 3.11 before the fix
    # 3.12+ runs the opener in the supervisor's task: connect() may win the race
    with contextlib.suppress(ConnectionClosed):
        await connecting
    assert client.state == Disconnected()
    assert opened and opened[0].close_code is not None
    no_tasks_left()


@vtest
async def test_close_is_bounded_when_a_handler_swallows_cancellation() -> None:
    server = FakeServer()
    client = make(server, close_timeout=2)
    swallowed: list[int] = []

    @client.on_state_change
    async def stubborn(state: ConnectionState) -> None:
        for _ in range(3):
            try:
                await asyncio.sleep(100)
            except asyncio.CancelledError:
                swallowed.append(1)

    await client.connect()
    started = now()
    await client.close()
    assert now() - started < 2 + 5  # close_timeout, then a few re-cancellations
    assert len(swallowed) == 3
    no_tasks_left()


# --- a connection that ends right after opening; the end of a close ---------------------------
@pytest.mark.parametrize("when", ["during on_open", "after on_open"])
@pytest.mark.parametrize("how", ["clean", "abnormal"])
def test_connect_returns_when_the_server_closes_right_after_the_handshake(
    when: str, how: str
) -> None:
    async def main() -> None:
        server = FakeServer()
        client = make(server, reconnect=None)

        def end(conn: FakeConnection) -> None:
            conn.push("a", b"b")
            if how == "clean":
                conn.server_close(1000, "done")
            else:
                conn.drop()

        @client.on_open
        def opened() -> None:
            if when == "during on_open":
                end(server.current)
            else:  # before connect() resumes: the bug's window
                asyncio.get_running_loop().call_soon(end, server.current)

        await client.connect()  # it did connect: no ConnectionClosed
        await asyncio.sleep(1)
        received: list[object] = []
        if how == "clean":
            received = [message async for message in client]
            assert client.state == Disconnected()
        else:
            with pytest.raises(ConnectionClosed) as info:
                async for message in client:
                    received.append(message)
            assert info.value.code == 1006
            assert isinstance(client.state, Failed)
        assert received == ["a", b"b"]
        assert len(server.connections) == 1
        await client.close()
        no_tasks_left()

    run(main())


@vtest
async def test_wait_connected_counts_a_connection_that_opened_and_ended_meanwhile() -> None:
    server = FakeServer()
    client = make(server, reconnect=None)
    client.on_open(lambda: server.current.server_close(1000))
    waiting = asyncio.ensure_future(client.wait_connected(10))
    await client.connect()
    await waiting
    with pytest.raises(ConnectionClosed):  # a call after the end: nothing opens any more
        await client.wait_connected(10)
    await client.close()
    no_tasks_left()


@vtest
async def test_iteration_gets_what_arrives_until_the_server_answers_the_close() -> None:
    server = FakeServer()
    client = make(server, close_timeout=10)
    await client.connect()
    conn = server.current
    conn.answer_close = False
    received: list[object] = []

    async def consume() -> None:
        async for message in client:
            received.append(message)

    consumer = asyncio.ensure_future(consume())
    conn.push("a")
    await asyncio.sleep(0.1)
    closing = asyncio.ensure_future(client.close(1000, "bye"))
    await asyncio.sleep(1)
    assert client.state == Closing() and not consumer.done()
    conn.push("b", "c")  # sent by the server before it saw our close frame
    await asyncio.sleep(1)
    conn.server_close(1000, "bye")
    await closing
    await asyncio.wait_for(consumer, 1)  # ended by StopAsyncIteration
    assert received == ["a", "b", "c"]
    assert not conn.aborted
    no_tasks_left()


@vtest
async def test_recv_after_close_returns_what_arrived_during_the_close() -> None:
    server = FakeServer()
    client = make(server, close_timeout=10)
    await client.connect()
    conn = server.current
    conn.answer_close = False
    closing = asyncio.ensure_future(client.close())
    await asyncio.sleep(1)
    conn.push("late 1", "late 2")
    conn.server_close(1000)
    await closing
    assert client.state == Disconnected()
    assert await client.recv() == "late 1"
    assert await client.recv() == "late 2"
    with pytest.raises(ConnectionClosed):
        await client.recv()
    no_tasks_left()


@vtest
async def test_a_reader_during_close_is_bounded_by_close_timeout() -> None:
    server = FakeServer()
    client = make(server, close_timeout=3)
    await client.connect()
    conn = server.current
    conn.answer_close = False  # and the server never answers
    reader = asyncio.ensure_future(client.recv())
    started = now()
    closing = asyncio.ensure_future(client.close())
    await asyncio.sleep(1)
    conn.push("late")
    assert await reader == "late"
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(client.recv(), 10)
    await closing
    assert 3 <= now() - started < 3 + 1
    assert conn.aborted and client.state == Disconnected()
    no_tasks_left()


@vtest
async def test_async_on_message_gets_what_arrives_during_close() -> None:
    server = FakeServer()
    client = make(server, close_timeout=10)
    seen: list[object] = []

    @client.on_message
    async def handle(message: object) -> None:
        await asyncio.sleep(0.5)
        seen.append(message)

    await client.connect()
    conn = server.current
    conn.answer_close = False
    closing = asyncio.ensure_future(client.close())
    await asyncio.sleep(1)
    conn.push("x", "y")
    conn.server_close(1000)
    await closing
    assert seen == ["x", "y"]
    no_tasks_left()


# --- the current connection's handshake -------------------------------------------------------
@vtest
async def test_subprotocol_and_response_headers_follow_the_current_connection() -> None:
    server = FakeServer()
    server.subprotocol = "chat.v1"
    server.response_headers = {"x-server": "one"}
    client = make(server)
    assert client.subprotocol is None and client.response_headers == {}
    seen: list[tuple[str | None, dict[str, str]]] = []
    client.on_open(lambda: seen.append((client.subprotocol, client.response_headers)))
    await client.connect()
    assert client.subprotocol == "chat.v1"
    assert client.response_headers == {"x-server": "one"}
    client.response_headers["x-server"] = "changed"  # a copy: read-only view
    assert client.response_headers == {"x-server": "one"}
    server.subprotocol, server.response_headers = None, {"x-server": "two"}
    server.current.drop()
    await asyncio.sleep(0.001)
    assert client.subprotocol is None and client.response_headers == {}  # between connections
    await server.next_connection(2)
    await client.wait_connected(10)
    assert client.subprotocol is None
    assert client.response_headers == {"x-server": "two"}
    assert seen == [("chat.v1", {"x-server": "one"}), (None, {"x-server": "two"})]
    await client.close()
    assert client.subprotocol is None and client.response_headers == {}
    no_tasks_left()
