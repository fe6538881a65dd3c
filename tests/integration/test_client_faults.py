"""WebSocketClient against real servers on 127.0.0.1 and the faults of a TCP proxy.

Every test goes through the public ``omniws.WebSocketClient`` with short delays. Servers
are either the `websockets` test server in its own process (tests/integration/servers) or a
`RecordingServer` in the test's loop (faultproxy.py); the `FaultProxy` sits between the
client and the server where a fault is needed. Timing bounds are generous (shared CPUs):
they check that something happens, and that it happens within interval + timeout + slack.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from websockets.asyncio.server import ServerConnection

from omniws import (
    CloseFrame,
    Closing,
    Connected,
    Connecting,
    ConnectionClosed,
    ConnectionFailed,
    ConnectionState,
    Disconnected,
    Failed,
    HandlerError,
    HandshakeRejected,
    ReconnectConfig,
    Reconnecting,
    WebSocketClient,
    WebSocketConfig,
    WebSocketError,
    WebSocketTimeout,
)

from .faultproxy import FaultProxy, RecordingServer, omniws_tasks, wait_until
from .support import PY_SERVER, ServerProcess, collect, free_port, recv

FAST = ReconnectConfig(initial_delay=0.05, max_delay=0.5)
ProxyFactory = Callable[[str, int], Awaitable[FaultProxy]]


def make_client(
    url: str, *, reconnect: ReconnectConfig | None = FAST, **options: Any
) -> WebSocketClient:
    options.setdefault("heartbeat_interval", None)
    options.setdefault("connect_timeout", 5)
    options.setdefault("close_timeout", 2)
    options.setdefault("send_timeout", 10)
    options.setdefault("compression", False)
    return WebSocketClient(WebSocketConfig(url, reconnect=reconnect, **options))


class Recorder:
    """Everything a client reports, with loop times."""

    def __init__(self, client: WebSocketClient) -> None:
        self.states: list[tuple[float, ConnectionState]] = []
        self.errors: list[tuple[float, WebSocketError]] = []
        self.closes: list[CloseFrame] = []
        self.opens = 0
        client.on_state_change(self._state)
        client.on_error(self._error)
        client.on_close(self.closes.append)
        client.on_open(self._open)

    def _state(self, state: ConnectionState) -> None:
        self.states.append((asyncio.get_running_loop().time(), state))

    def _error(self, error: WebSocketError) -> None:
        self.errors.append((asyncio.get_running_loop().time(), error))

    def _open(self) -> None:
        self.opens += 1

    def kinds(self, since: int = 0) -> list[ConnectionState]:
        return [state for _, state in self.states[since:]]

    def first(self, kind: type, since: int = 0) -> tuple[float, Any] | None:
        for when, state in self.states[since:]:
            if isinstance(state, kind):
                return when, state
        return None

    def timeouts(self) -> list[WebSocketTimeout]:
        return [e for _, e in self.errors if isinstance(e, WebSocketTimeout)]


def assert_client_tasks_gone(baseline: set[asyncio.Task[Any]]) -> None:
    """Nothing of the client is left: no task running omniws code, and no task at all
    besides those that existed before the client (the test's own)."""
    assert omniws_tasks() == set()
    left = {t for t in asyncio.all_tasks() - baseline if not t.done()}
    assert left == set(), f"tasks left after close: {left}"


def connections_reach(client: WebSocketClient, count: int) -> bool:
    return client.stats.connections >= count


@pytest.fixture
async def server() -> AsyncIterator[RecordingServer]:
    srv = await RecordingServer().start()
    try:
        yield srv
    finally:
        await srv.stop()


@pytest.fixture
async def proxy_to() -> AsyncIterator[ProxyFactory]:
    made: list[FaultProxy] = []

    async def make(host: str, port: int) -> FaultProxy:
        proxy = await FaultProxy(host, port).start()
        made.append(proxy)
        return proxy

    try:
        yield make
    finally:
        for proxy in made:
            await proxy.close()


@pytest.fixture
def restartable_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """The `websockets` test server in its own process, on a fixed port, that a test may
    stop and start again; stopped in teardown."""
    port = free_port()
    argv = [sys.executable, str(PY_SERVER), "--host", "127.0.0.1", "--port", str(port)]
    proc = ServerProcess("restartable", argv, "127.0.0.1", port, tmp_path / "server.log")
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


def host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


async def burst_handler(srv: RecordingServer, ws: ServerConnection) -> None:
    """Record; on ``burst N`` send ``m 0`` .. ``m N-1``; echo anything else."""
    record = srv.connections[-1]
    for _ in range(100_000):
        message = await ws.recv()
        record.append(message)
        if isinstance(message, str) and message.startswith("burst "):
            for i in range(int(message.split()[1])):
                await ws.send(f"m {i}")
        else:
            await ws.send(message)


# ------------------------------------------------------------------ restarts and drops


async def test_server_process_restart_reconnects_and_resubscribes(
    restartable_server: ServerProcess,
) -> None:
    client = make_client(f"{restartable_server.url}/echo")
    events = Recorder(client)

    @client.on_open
    async def subscribe() -> None:
        await client.send("subscribe")

    async with client:
        assert await recv(client) == "subscribe"  # the server echoes what it received
        await asyncio.to_thread(restartable_server.stop)  # SIGTERM: websockets sends 1001
        await wait_until(lambda: client.state != Connected(), what="the drop")
        await asyncio.sleep(0.3)  # a few refused attempts while the server is down
        await asyncio.to_thread(restartable_server.start)
        assert await recv(client, 15) == "subscribe"  # re-subscribed, recv() went on
        await client.send("after")
        assert await recv(client) == "after"
        assert events.opens == 2
        assert client.stats.reconnects == 1
        assert events.closes[0].code == 1001
        assert any(isinstance(s, Reconnecting) for s in events.kinds())


async def test_in_loop_server_restart_server_sees_subscribe_again(
    server: RecordingServer,
) -> None:
    client = make_client(f"{server.url}/feed")

    @client.on_open
    async def subscribe() -> None:
        await client.send("subscribe")

    async with client:
        await wait_until(lambda: server.received == ["subscribe"], what="the subscription")
        await server.stop()
        await wait_until(lambda: isinstance(client.state, Reconnecting), what="Reconnecting")
        await asyncio.sleep(0.2)
        await server.start()  # same port
        await wait_until(lambda: len(server.connections) == 2, what="the reconnection")
        await wait_until(lambda: server.connections[1][:1] == ["subscribe"], what="resubscribe")
        assert server.connections == [["subscribe"], ["subscribe"]]
        assert await recv(client) == "subscribe"
        assert await recv(client) == "subscribe"


@pytest.mark.parametrize("rst", [True, False], ids=["rst", "fin"])
async def test_proxy_drop_state_sequence_and_resubscribe(
    server: RecordingServer, proxy_to: ProxyFactory, rst: bool
) -> None:
    proxy = await proxy_to("127.0.0.1", server.port)
    client = make_client(f"{proxy.url}/feed")
    events = Recorder(client)

    @client.on_open
    async def subscribe() -> None:
        await client.send("subscribe")

    async with client:
        await wait_until(lambda: server.received == ["subscribe"], what="the subscription")
        mark = len(events.states)
        assert await proxy.drop_all(rst=rst) == 1
        await wait_until(lambda: len(server.connections) == 2, what="the reconnection")
        await wait_until(lambda: server.connections[1] == ["subscribe"], what="resubscribe")
        await wait_until(lambda: client.state == Connected(), what="Connected")
        states = events.kinds(mark)
        assert [type(s) for s in states] == [Reconnecting, Connecting, Connected], states
        reconnecting = states[0]
        assert isinstance(reconnecting, Reconnecting) and reconnecting.attempt == 1
        assert 0 < reconnecting.delay <= 0.05 * 1.5 + 1e-9  # initial_delay with jitter
        assert states[1] == Connecting(1)
        assert events.closes[-1].code == 1006
        assert client.stats.reconnects == 1 and client.stats.connections == 2
    assert events.kinds()[-1] == Disconnected()


# ------------------------------------------------------------------ heartbeat


@pytest.mark.parametrize("direction", ["both", "up", "down"])
async def test_stalled_peer_is_detected_within_interval_plus_timeout(
    server: RecordingServer, proxy_to: ProxyFactory, direction: Any
) -> None:
    interval, timeout = 0.3, 0.3
    proxy = await proxy_to("127.0.0.1", server.port)
    client = make_client(
        f"{proxy.url}/feed", heartbeat_interval=interval, heartbeat_timeout=timeout
    )
    events = Recorder(client)

    @client.on_open
    async def subscribe() -> None:
        await client.send("subscribe")

    async with client:
        await wait_until(lambda: server.received == ["subscribe"], what="the subscription")
        assert await recv(client) == "subscribe"
        mark = len(events.states)
        stalled_at = asyncio.get_running_loop().time()
        proxy.stall(direction)
        await wait_until(lambda: bool(events.timeouts()), timeout=15, what="the heartbeat timeout")
        found = events.first(Reconnecting, mark)
        assert found is not None
        detected_at, state = found
        elapsed = detected_at - stalled_at
        # the last ping may have gone out just before the stall: at least ~timeout
        assert elapsed >= timeout * 0.8, elapsed
        assert elapsed <= interval + timeout + 3.0, elapsed  # generous for shared CPUs
        error = events.timeouts()[0]
        assert error.operation == "heartbeat"
        assert state.cause is error
        assert events.closes[-1].code == 1006
        proxy.resume()  # new connections pass again
        await wait_until(lambda: len(server.connections) >= 2, timeout=15, what="reconnect")
        await wait_until(lambda: client.state == Connected(), timeout=15, what="Connected")
        await wait_until(lambda: server.connections[-1][:1] == ["subscribe"], what="resubscribe")


@pytest.mark.parametrize("mode", ["unread", "queue-full", "blocking-async", "blocking-sync"])
async def test_busy_consumer_gets_no_false_heartbeat_timeout(
    proxy_to: ProxyFactory, mode: str
) -> None:
    srv = await RecordingServer(burst_handler).start()
    try:
        proxy = await proxy_to("127.0.0.1", srv.port)
        client = make_client(
            f"{proxy.url}/feed",
            heartbeat_interval=0.1,
            heartbeat_timeout=0.3,
            max_queue=8,
        )
        events = Recorder(client)
        count = 200 if mode == "queue-full" else 5
        got: list[Any] = []

        def block(message: Any) -> None:
            got.append(message)
            time.sleep(0.4)  # blocks the whole loop longer than the heartbeat timeout

        async def ablock(message: Any) -> None:
            block(message)

        if mode == "blocking-async":
            client.on_message(ablock)
        elif mode == "blocking-sync":  # runs straight from the parser
            client.on_message(block)

        async with client:
            await client.send(f"burst {count}")
            await asyncio.sleep(2.0)  # ~20 heartbeat intervals without reading
            assert client.state == Connected()
            assert events.timeouts() == []
            assert client.stats.connections == 1
            if mode == "unread":  # pongs were processed although nobody read
                assert client.stats.last_rtt is not None
            if mode.startswith("blocking"):
                await wait_until(lambda: len(got) == count, what="all messages")
            else:
                got = [await recv(client) for _ in range(count)]
            assert got == [f"m {i}" for i in range(count)]
            await asyncio.sleep(0.5)  # the heartbeat goes on after the reader caught up
            assert client.stats.last_rtt is not None
            assert events.timeouts() == []
            assert client.stats.connections == 1
    finally:
        await srv.stop()


# ------------------------------------------------------------------ handshake rejections


async def test_401_is_not_retried(server: RecordingServer) -> None:
    server.rejections = [(401, {}), (401, {})]
    client = make_client(f"{server.url}/feed")
    events = Recorder(client)
    with pytest.raises(HandshakeRejected) as info:
        await asyncio.wait_for(client.connect(), 10)
    assert info.value.status == 401 and not info.value.recoverable
    state = client.state
    assert isinstance(state, Failed) and state.recoverable is False
    assert state.error is info.value
    await asyncio.sleep(0.5)  # ten times the initial delay: no other attempt
    assert len(server.requests) == 1
    assert not any(isinstance(s, Reconnecting) for s in events.kinds())
    with pytest.raises(HandshakeRejected):
        await client.send("x")
    await client.close()
    assert omniws_tasks() == set()


async def test_401_from_the_process_server(py_server: str) -> None:
    client = make_client(f"{py_server}/status/401")
    with pytest.raises(HandshakeRejected) as info:
        await asyncio.wait_for(client.connect(), 10)
    assert info.value.status == 401
    assert client.state == Failed(info.value, False)
    await client.close()


@pytest.mark.parametrize("status,rejections", [(503, 2), (429, 1)])
async def test_503_and_429_are_retried_honouring_retry_after(
    server: RecordingServer, status: int, rejections: int
) -> None:
    server.rejections = [(status, {"Retry-After": "1"})] * rejections
    client = make_client(f"{server.url}/feed")
    events = Recorder(client)
    await asyncio.wait_for(client.connect(), 20)
    try:
        assert len(server.requests) == rejections + 1
        gaps = [b - a for a, b in zip(server.requests, server.requests[1:], strict=False)]
        assert all(gap >= 0.95 for gap in gaps), gaps  # not initial_delay (0.05 s)
        assert all(gap < 6 for gap in gaps), gaps
        delays = [s.delay for s in events.kinds() if isinstance(s, Reconnecting)]
        assert len(delays) == rejections and all(d >= 1.0 for d in delays), delays
        rejected = [e for _, e in events.errors if isinstance(e, HandshakeRejected)]
        assert [e.status for e in rejected] == [status] * rejections
        assert all(e.retry_after == 1 and e.recoverable for e in rejected)
        await client.send("hello")
        assert await recv(client) == "hello"
    finally:
        await client.close()


async def test_close_during_a_retry_after_backoff_is_prompt(py_server: str) -> None:
    client = make_client(f"{py_server}/status/503")  # Retry-After: 7
    events = Recorder(client)
    connecting = asyncio.create_task(client.connect())
    await wait_until(lambda: isinstance(client.state, Reconnecting), what="Reconnecting")
    state = client.state
    assert isinstance(state, Reconnecting) and state.delay >= 7
    started = time.monotonic()
    await client.close()
    assert time.monotonic() - started < 1.0
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(connecting, 5)
    assert client.state == Disconnected()
    assert events.kinds()[-1] == Disconnected()
    assert omniws_tasks() == set()


# ------------------------------------------------------------------ giving up, closing


@pytest.mark.parametrize("how", ["refused", "accept-and-close"])
async def test_max_attempts_exhausted_ends_in_failed(
    server: RecordingServer, proxy_to: ProxyFactory, how: str
) -> None:
    proxy = await proxy_to("127.0.0.1", server.port)
    if how == "refused":
        await proxy.stop()  # the port refuses connections
    else:
        proxy.refuse = True
    client = make_client(
        f"{proxy.url}/feed", reconnect=ReconnectConfig(max_attempts=3, initial_delay=0.05)
    )
    events = Recorder(client)
    with pytest.raises(ConnectionFailed) as info:
        await asyncio.wait_for(client.connect(), 20)
    state = client.state
    assert isinstance(state, Failed) and state.recoverable is True
    assert state.error is info.value
    attempts = [s.attempt for s in events.kinds() if isinstance(s, Reconnecting)]
    assert attempts == [1, 2, 3]
    assert len([e for _, e in events.errors if isinstance(e, ConnectionFailed)]) == 4
    if how == "accept-and-close":
        assert proxy.accepted == 4
    assert server.connections == []
    await client.close()
    assert omniws_tasks() == set()


async def test_close_during_a_long_backoff_returns_at_once(proxy_to: ProxyFactory) -> None:
    baseline = asyncio.all_tasks()
    proxy = await proxy_to("127.0.0.1", free_port())
    await proxy.stop()
    client = make_client(
        proxy.url, reconnect=ReconnectConfig(initial_delay=30, max_delay=30, jitter=0)
    )
    connecting = asyncio.create_task(client.connect())
    await wait_until(lambda: isinstance(client.state, Reconnecting), what="Reconnecting")
    started = time.monotonic()
    await asyncio.wait_for(client.close(), 5)
    assert time.monotonic() - started < 1.0  # well under the 30 s delay
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(connecting, 5)
    assert client.state == Disconnected()
    assert_client_tasks_gone(baseline | {connecting})


# ------------------------------------------------------------------ handlers


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_raising_handlers_do_not_stop_delivery(proxy_to: ProxyFactory, kind: str) -> None:
    srv = await RecordingServer(burst_handler).start()
    try:
        client = make_client(f"{srv.url}/feed")
        events = Recorder(client)
        got: list[Any] = []

        def check(message: Any) -> None:
            got.append(message)
            if len(got) % 2 == 0:
                raise ValueError(f"handler failed on {message}")

        if kind == "sync":
            client.on_message(check)

            @client.on_open
            def failing_open() -> None:
                raise RuntimeError("on_open failed")

        else:

            @client.on_message
            async def acheck(message: Any) -> None:
                await asyncio.sleep(0)
                check(message)

            @client.on_state_change
            async def failing_state(state: ConnectionState) -> None:
                raise RuntimeError("on_state_change failed")

        async with client:
            await client.send("burst 20")
            await wait_until(lambda: len(got) == 20, what="20 messages")
            assert got == [f"m {i}" for i in range(20)]
            handler_errors = [e for _, e in events.errors if isinstance(e, HandlerError)]
            message_errors = [e for e in handler_errors if e.event == "on_message"]
            assert len(message_errors) == 10
            assert all(isinstance(e.__cause__, ValueError) for e in message_errors)
            other = "on_open" if kind == "sync" else "on_state_change"
            assert any(e.event == other for e in handler_errors)
            await client.send("burst 2")
            await wait_until(lambda: len(got) == 22, what="more messages")
            assert client.state == Connected() and client.stats.connections == 1
        assert omniws_tasks() == set()
    finally:
        await srv.stop()


# ------------------------------------------------------------------ lifecycle


@pytest.mark.parametrize("when", ["connected", "reconnecting", "connecting", "after-drop"])
async def test_no_task_of_the_client_is_left_after_close(
    py_server: str, proxy_to: ProxyFactory, when: str
) -> None:
    baseline = asyncio.all_tasks()
    proxy = await proxy_to(*host_port(py_server))
    client = make_client(
        f"{proxy.url}/echo",
        heartbeat_interval=0.1,
        heartbeat_timeout=1.0,
        reconnect=ReconnectConfig(initial_delay=0.05, max_delay=0.2)
        if when != "reconnecting"
        else ReconnectConfig(initial_delay=20, jitter=0),
    )
    seen: list[Any] = []

    @client.on_message
    async def consume(message: Any) -> None:
        seen.append(message)

    @client.on_state_change
    async def watch(state: ConnectionState) -> None:
        await asyncio.sleep(0)

    @client.on_error
    async def report(error: WebSocketError) -> None:
        await asyncio.sleep(0)

    await asyncio.wait_for(client.connect(), 10)
    await client.send("one")
    await wait_until(lambda: seen == ["one"], what="the echo")
    await asyncio.sleep(0.3)  # a few heartbeats
    if when == "reconnecting":
        await proxy.stop()
        await wait_until(lambda: isinstance(client.state, Reconnecting), what="Reconnecting")
    elif when == "connecting":
        proxy.stall("both")  # the next handshake hangs
        await proxy.drop_all()
        await wait_until(lambda: isinstance(client.state, Connecting), what="Connecting")
        await wait_until(lambda: proxy.accepted >= 2, what="the new attempt")
    elif when == "after-drop":
        await proxy.drop_all()
        await wait_until(lambda: client.stats.connections == 2, what="the reconnection")
        await wait_until(lambda: client.state == Connected(), what="Connected")
    started = time.monotonic()
    await asyncio.wait_for(client.close(), 10)
    assert time.monotonic() - started < 3.0
    assert client.state == Disconnected()
    assert_client_tasks_gone(baseline)


async def test_send_while_reconnecting_waits_and_goes_out_after_on_open(
    server: RecordingServer, proxy_to: ProxyFactory
) -> None:
    proxy = await proxy_to("127.0.0.1", server.port)
    client = make_client(f"{proxy.url}/feed", reconnect=ReconnectConfig(initial_delay=0.05))

    @client.on_open
    async def subscribe() -> None:
        await asyncio.sleep(0.05)  # a slow on_open: queued sends must still wait for it
        await client.send("subscribe")

    async with client:
        await wait_until(lambda: server.received == ["subscribe"], what="the subscription")
        await proxy.stop()  # drop, then refuse while the test decides
        await wait_until(lambda: client.state != Connected(), what="the drop")
        sending = [asyncio.create_task(client.send(f"queued {i}")) for i in range(3)]
        await asyncio.sleep(0.4)
        assert not any(task.done() for task in sending)
        assert len(server.connections) == 1
        await proxy.start()
        await asyncio.wait_for(asyncio.gather(*sending), 10)
        await wait_until(lambda: len(server.received) == 5, what="the queued sends")
        assert server.connections == [
            ["subscribe"],
            ["subscribe", "queued 0", "queued 1", "queued 2"],
        ]


async def test_send_on_a_closed_or_unstarted_client_raises(server: RecordingServer) -> None:
    client = make_client(f"{server.url}/feed")
    with pytest.raises(ConnectionClosed):
        await client.send("before connect")
    async with client:
        await client.send("while open")
        assert await recv(client) == "while open"
    with pytest.raises(ConnectionClosed):
        await client.send("after close")
    with pytest.raises(ConnectionClosed):
        await client.recv()
    assert server.received == ["while open"]


async def test_send_times_out_when_the_reconnection_does_not_come(
    proxy_to: ProxyFactory, server: RecordingServer
) -> None:
    proxy = await proxy_to("127.0.0.1", server.port)
    client = make_client(f"{proxy.url}/feed", send_timeout=0.5)
    async with client:
        await proxy.stop()
        await wait_until(lambda: client.state != Connected(), what="the drop")
        started = time.monotonic()
        with pytest.raises(WebSocketTimeout) as info:
            await client.send("never")
        assert info.value.operation == "send"
        assert 0.4 <= time.monotonic() - started < 5
    assert server.received == []


async def test_stats_count_messages_bytes_and_reconnects(
    server: RecordingServer, proxy_to: ProxyFactory
) -> None:
    proxy = await proxy_to("127.0.0.1", server.port)
    client = make_client(f"{proxy.url}/feed", heartbeat_interval=0.1, heartbeat_timeout=2)
    texts = ["a", "hello", "héllo wörld", "€" * 10]
    blobs = [b"", b"\x00\x01\x02", bytes(1000)]
    size = sum(len(t.encode()) for t in texts) + sum(len(b) for b in blobs)
    async with client:
        assert client.stats.connections == 1 and client.stats.reconnects == 0
        messages: list[str | bytes] = [*texts, *blobs]
        for message in messages:
            await client.send(message)
        echoed = [await recv(client) for _ in range(len(texts) + len(blobs))]
        assert echoed == [*texts, *blobs]
        stats = client.stats
        assert (stats.messages_out, stats.bytes_out) == (7, size)
        assert (stats.messages_in, stats.bytes_in) == (7, size)
        await proxy.drop_all()
        await wait_until(lambda: client.stats.connections == 2, what="the reconnection")
        await wait_until(lambda: client.state == Connected(), what="Connected")
        await client.send("again")
        assert await recv(client) == "again"
        await asyncio.sleep(0.3)
        stats = client.stats
        assert stats.reconnects == 1
        assert (stats.messages_out, stats.bytes_out) == (8, size + 5)
        assert (stats.messages_in, stats.bytes_in) == (8, size + 5)
        assert stats.last_rtt is not None and 0 <= stats.last_rtt < 2
        assert stats.connected_time > 0.3
    after = client.stats
    assert after.connected_time >= stats.connected_time
    await asyncio.sleep(0.2)
    assert client.stats.connected_time == after.connected_time  # not counting once closed


@pytest.mark.parametrize(
    "code,retry_normal,outcome",
    [
        (4001, True, "failed"),
        (1008, True, "failed"),
        (1011, True, "retried"),
        (1012, True, "retried"),
        (1001, True, "retried"),
        (1000, False, "disconnected"),
    ],
)
async def test_server_close_codes(
    py_server: str, code: int, retry_normal: bool, outcome: str
) -> None:
    client = make_client(
        f"{py_server}/close?code={code}&reason=test",
        reconnect=ReconnectConfig(initial_delay=0.05, retry_on_normal_close=retry_normal),
    )
    events = Recorder(client)
    await asyncio.wait_for(client.connect(), 10)  # it connects, even if the close came first
    if outcome == "retried":
        await wait_until(lambda: client.stats.connections >= 3, what="retries")
        assert all(frame.code == code for frame in events.closes)
    elif outcome == "failed":
        await wait_until(lambda: isinstance(client.state, Failed), what="Failed")
        state = client.state
        assert isinstance(state, Failed) and state.recoverable is False
        assert isinstance(state.error, ConnectionClosed) and state.error.code == code
        assert client.stats.connections == 1
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(client.recv(), 5)
    else:
        await wait_until(lambda: client.state == Disconnected(), what="Disconnected")
        assert client.stats.connections == 1
        assert [m async for m in client] == []  # iteration simply ends
    await client.close()
    assert omniws_tasks() == set()


async def test_iteration_continues_across_reconnects_and_ends_at_close(
    py_server: str, proxy_to: ProxyFactory
) -> None:
    proxy = await proxy_to(*host_port(py_server))
    client = make_client(f"{proxy.url}/echo")
    got: list[Any] = []

    async def consume() -> None:
        async for message in client:
            got.append(message)

    await asyncio.wait_for(client.connect(), 10)
    consumer = asyncio.create_task(consume())
    await client.send("before")
    await wait_until(lambda: got == ["before"], what="the first echo")
    await proxy.drop_all()
    await wait_until(lambda: client.stats.connections == 2, what="the reconnection")
    await client.send("after")
    await wait_until(lambda: got == ["before", "after"], what="the second echo")
    await client.close()
    await asyncio.wait_for(consumer, 5)  # ended by StopAsyncIteration, not an error
    assert omniws_tasks() == set()


async def test_connect_timeout_is_retried(server: RecordingServer, proxy_to: ProxyFactory) -> None:
    proxy = await proxy_to("127.0.0.1", server.port)
    proxy.stall("both")  # TCP connects, the handshake never completes
    client = make_client(f"{proxy.url}/feed", connect_timeout=0.3)
    events = Recorder(client)
    connecting = asyncio.create_task(client.connect())
    await wait_until(lambda: len(events.timeouts()) >= 2, what="two connect timeouts")
    assert all(e.operation == "connect" for e in events.timeouts())
    assert not connecting.done()
    proxy.resume()
    await asyncio.wait_for(connecting, 10)
    assert client.state == Connected()
    await client.send("through")
    assert await recv(client) == "through"
    await client.close()
    assert omniws_tasks() == set()


async def test_backoff_grows_while_flapping_and_max_attempts_counts_it(py_server: str) -> None:
    # each connection opens, then the server closes it with 1011 at once
    client = make_client(
        f"{py_server}/close?code=1011",
        reconnect=ReconnectConfig(initial_delay=0.05, multiplier=2, jitter=0, max_attempts=3),
    )
    events = Recorder(client)
    with contextlib.suppress(ConnectionClosed):
        await asyncio.wait_for(client.connect(), 10)
    await wait_until(lambda: isinstance(client.state, Failed), what="Failed")
    state = client.state
    assert isinstance(state, Failed) and state.recoverable is True
    assert isinstance(state.error, ConnectionClosed) and state.error.code == 1011
    retries = [s for s in events.kinds() if isinstance(s, Reconnecting)]
    assert [s.attempt for s in retries] == [1, 2, 3]
    assert [s.delay for s in retries] == pytest.approx([0.05, 0.1, 0.2])
    assert client.stats.connections == 4
    await client.close()


async def test_backoff_starts_over_after_a_connection_that_stayed_up(
    server: RecordingServer, proxy_to: ProxyFactory
) -> None:
    proxy = await proxy_to("127.0.0.1", server.port)
    client = make_client(
        f"{proxy.url}/feed",
        reconnect=ReconnectConfig(initial_delay=0.05, jitter=0, reset_after=0.3),
    )
    events = Recorder(client)
    async with client:
        for expected in (2, 3, 4):
            await asyncio.sleep(0.5)  # up longer than reset_after
            await proxy.drop_all()
            await wait_until(
                functools.partial(connections_reach, client, expected), what="the reconnection"
            )
    retries = [s for s in events.kinds() if isinstance(s, Reconnecting)]
    assert [s.attempt for s in retries] == [1, 1, 1]
    assert [s.delay for s in retries] == pytest.approx([0.05] * 3)


async def test_close_against_a_peer_that_stopped_answering_is_bounded(
    server: RecordingServer, proxy_to: ProxyFactory
) -> None:
    proxy = await proxy_to("127.0.0.1", server.port)
    client = make_client(f"{proxy.url}/feed", close_timeout=0.5)
    await asyncio.wait_for(client.connect(), 10)
    proxy.stall("both")  # our close frame is never answered
    started = time.monotonic()
    await asyncio.wait_for(client.close(), 10)
    assert time.monotonic() - started < 0.5 * 3 + 1  # close_timeout, with slack
    assert client.state == Disconnected()
    assert omniws_tasks() == set()  # (the in-loop server still holds its side)


async def test_close_at_random_moments_leaves_nothing_behind(
    server: RecordingServer, proxy_to: ProxyFactory
) -> None:
    """close() at random points of the life of a client under faults: always prompt, always
    Disconnected, never a task left, and every waiting send() ends."""
    import random

    rng = random.Random(int(os.environ.get("OMNIWS_FUZZ_SEED", "4")))
    proxy = await proxy_to("127.0.0.1", server.port)
    for round_ in range(40):  # bounded
        client = make_client(
            f"{proxy.url}/feed",
            heartbeat_interval=0.05,
            heartbeat_timeout=0.2,
            close_timeout=0.5,
            reconnect=ReconnectConfig(initial_delay=0.01, max_delay=0.05),
        )

        @client.on_open
        async def slow_open(client: WebSocketClient = client) -> None:
            await asyncio.sleep(rng.uniform(0, 0.02))
            await client.send("subscribe")

        @client.on_message
        async def consume(message: Any) -> None:
            await asyncio.sleep(0)

        connecting = asyncio.create_task(client.connect())
        senders = [asyncio.create_task(client.send(f"{round_}:{i}")) for i in range(3)]
        for _ in range(rng.randint(0, 3)):
            await asyncio.sleep(rng.uniform(0, 0.05))
            fault = rng.random()
            if fault < 0.4:
                await proxy.drop_all(rst=rng.random() < 0.5)
            elif fault < 0.6:
                proxy.refuse = True
            elif fault < 0.7:
                proxy.stall("both")
            else:
                proxy.refuse = False
                proxy.resume()
        started = time.monotonic()
        await asyncio.wait_for(client.close(), 10)
        assert time.monotonic() - started < 3.0, round_  # about close_timeout at most
        assert client.state == Disconnected(), (round_, client.state)
        done, pending = await asyncio.wait([connecting, *senders], timeout=5)
        assert not pending, round_
        for task in done:  # each either succeeded or raised the client's closed error
            if task.exception() is not None:
                assert isinstance(task.exception(), ConnectionClosed), task.exception()
        assert omniws_tasks() == set(), round_
        proxy.refuse = False
        proxy.resume()
        await proxy.drop_all()


async def test_unread_messages_survive_a_drop_in_order(proxy_to: ProxyFactory) -> None:
    """A reader that is behind when the connection drops: what had arrived is still
    delivered, before the messages of the next connection, in order, once."""

    async def push_on_subscribe(srv: RecordingServer, ws: ServerConnection) -> None:
        index = len(srv.connections)
        record = srv.connections[-1]
        for _ in range(1000):
            message = await ws.recv()
            record.append(message)
            if message == "subscribe":
                for i in range(100):
                    await ws.send(f"c{index} m{i}")

    srv = await RecordingServer(push_on_subscribe).start()
    try:
        proxy = await proxy_to("127.0.0.1", srv.port)
        client = make_client(f"{proxy.url}/feed", max_queue=8, heartbeat_interval=0.1)

        @client.on_open
        async def subscribe() -> None:
            await client.send("subscribe")

        async with client:
            await asyncio.sleep(0.5)  # not reading: the queue fills, reading pauses
            await proxy.drop_all()
            # While reading is paused the socket is not read, so the drop is noticed (and
            # the connection replaced) only once the reader has caught up: then it goes on.
            await asyncio.sleep(0.3)
            assert client.stats.connections == 1
            got: list[Any] = []
            for _ in range(300):  # bounded: at most 200 messages exist
                try:
                    got.append(await asyncio.wait_for(client.recv(), 2.0))
                except asyncio.TimeoutError:
                    break
            assert client.stats.connections == 2
            first = [m for m in got if m.startswith("c1 ")]
            second = [m for m in got if m.startswith("c2 ")]
            assert got == first + second  # the old connection's messages come first
            assert first == [f"c1 m{i}" for i in range(len(first))]
            assert len(first) >= 8  # what had been read before the drop
            assert second == [f"c2 m{i}" for i in range(100)]
            assert client.stats.messages_in == len(got)
    finally:
        await srv.stop()


# ------------------------------------------------ a connection that ends at once; the close


@pytest.mark.parametrize("open_delay", [0.0, 0.2], ids=["quick-on_open", "slow-on_open"])
@pytest.mark.parametrize("code", [1000, 1011])
async def test_connect_returns_when_the_server_closes_right_after_the_handshake(
    code: int, open_delay: float
) -> None:
    """The server sends two messages and closes at once: connect() returns (the client did
    connect), the messages are read, then iteration ends (1000) or raises (1011)."""

    async def send_and_close(srv: RecordingServer, ws: ServerConnection) -> None:
        await ws.send("a")
        await ws.send(b"b")
        await ws.close(code, "at once")

    srv = await RecordingServer(send_and_close).start()
    try:
        client = make_client(f"{srv.url}/feed", reconnect=None)
        events = Recorder(client)

        @client.on_open
        async def opened() -> None:
            await asyncio.sleep(open_delay)  # 0.2: the close arrives during on_open

        baseline = asyncio.all_tasks()
        await asyncio.wait_for(client.connect(), 10)
        assert events.opens == 1
        if code == 1000:
            assert await collect(client) == ["a", b"b"]
            assert client.state == Disconnected()
        else:
            assert await recv(client) == "a"
            assert await recv(client) == b"b"
            with pytest.raises(ConnectionClosed) as info:
                await recv(client)
            assert info.value.code == 1011
            assert isinstance(client.state, Failed)
        assert events.closes == [CloseFrame(code, "at once")]
        await client.close()
        assert_client_tasks_gone(baseline)
    finally:
        await srv.stop()


@pytest.mark.parametrize("reader", ["async-for", "recv-after-close"])
async def test_messages_sent_before_the_server_answers_the_close_are_delivered(
    proxy_to: ProxyFactory, reader: str
) -> None:
    """The proxy holds our close frame, so the server goes on sending: those messages reach
    an iterating reader during close(), or recv() after it, then the stream ends."""
    outbox: asyncio.Queue[str] = asyncio.Queue()

    async def feed(srv: RecordingServer, ws: ServerConnection) -> None:
        for _ in range(1000):
            await ws.send(await outbox.get())

    srv = await RecordingServer(feed).start()
    try:
        proxy = await proxy_to("127.0.0.1", srv.port)
        client = make_client(f"{proxy.url}/feed", close_timeout=5)
        events = Recorder(client)
        got: list[Any] = []

        async def consume() -> None:
            async for message in client:
                got.append(message)

        await asyncio.wait_for(client.connect(), 10)
        consumer = asyncio.create_task(consume()) if reader == "async-for" else None
        outbox.put_nowait("before")
        await wait_until(lambda: client.stats.messages_in == 1, what="the first message")
        proxy.stall("up")  # our close frame waits in the proxy; the server keeps sending
        closing = asyncio.create_task(client.close(1000, "bye"))
        await wait_until(lambda: client.state == Closing(), what="Closing")
        for i in range(3):
            outbox.put_nowait(f"late {i}")
        await wait_until(lambda: client.stats.messages_in == 4, what="the late messages")
        await asyncio.sleep(0.1)
        assert not closing.done() and client.state == Closing()
        proxy.resume()  # the server gets our close frame and answers it
        await asyncio.wait_for(closing, 10)
        assert events.closes[-1] == CloseFrame(1000, "bye")  # a clean handshake, no abort
        if consumer is not None:
            await asyncio.wait_for(consumer, 5)  # ended by StopAsyncIteration
        else:
            got = await collect(client)
        assert got == ["before", "late 0", "late 1", "late 2"]
        with pytest.raises(ConnectionClosed):
            await recv(client)
        assert omniws_tasks() == set()
    finally:
        await srv.stop()


# ------------------------------------------------------------ the handshake of the connection


async def test_subprotocol_and_response_headers(py_server: str, proxy_to: ProxyFactory) -> None:
    proxy = await proxy_to(*host_port(py_server))
    client = make_client(f"{proxy.url}/subprotocol", protocols=["superchat", "chat"])
    seen: list[tuple[str | None, dict[str, str]]] = []
    client.on_open(lambda: seen.append((client.subprotocol, client.response_headers)))
    assert client.subprotocol is None and client.response_headers == {}
    async with client:
        assert await recv(client) == "superchat"  # what the server says it selected
        assert client.subprotocol == "superchat"
        headers = client.response_headers
        assert headers["sec-websocket-protocol"] == "superchat"
        assert headers["upgrade"].lower() == "websocket"
        assert all(name == name.lower() for name in headers)
        await proxy.drop_all()
        await wait_until(lambda: connections_reach(client, 2), what="the reconnection")
        await client.wait_connected(10)
        assert client.subprotocol == "superchat"
        assert [proto for proto, _ in seen] == ["superchat", "superchat"]
        assert all(h["sec-websocket-protocol"] == "superchat" for _, h in seen)
    assert client.subprotocol is None and client.response_headers == {}
