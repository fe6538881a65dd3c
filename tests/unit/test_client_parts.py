"""The client's parts on their own: the lifecycle table, several readers, close() checks,
Retry-After limits, and normalized durations. Virtual time (fakes.py)."""

from __future__ import annotations

import asyncio
import random
from datetime import datetime, timedelta, timezone

import pytest
from fakes import FakeServer, run

from omniws import (
    Closing,
    Connected,
    Connecting,
    ConnectionState,
    Disconnected,
    Failed,
    HandshakeRejected,
    ReconnectConfig,
    Reconnecting,
    WebSocketClient,
    WebSocketConfig,
)
from omniws.client.lifecycle import TRANSITIONS, Lifecycle
from omniws.client.retry import Backoff
from omniws.errors import ConfigError, ConnectionClosed, ConnectionFailed, _parse_retry_after

ALL_STATES: list[ConnectionState] = [
    Disconnected(),
    Connecting(0),
    Connected(),
    Reconnecting(1, 0.0),
    Failed(ConnectionFailed("x"), True),
    Closing(),
]


def make(server: FakeServer, **config: object) -> WebSocketClient:
    reconnect = config.pop("reconnect", ReconnectConfig(jitter=0))
    return WebSocketClient(
        WebSocketConfig("ws://test.invalid/", reconnect=reconnect, **config),  # type: ignore[arg-type]
        open_connection=server.open_connection,
        rng=random.Random(1),
    )


# ------------------------------------------------------------------ lifecycle
@pytest.mark.parametrize("source", ALL_STATES, ids=lambda s: type(s).__name__)
@pytest.mark.parametrize("target", ALL_STATES, ids=lambda s: type(s).__name__)
def test_every_transition_follows_the_table(
    source: ConnectionState, target: ConnectionState
) -> None:
    seen: list[ConnectionState] = []
    lifecycle = Lifecycle("ws://x/", seen.append)
    lifecycle.state = source
    if type(target) in TRANSITIONS[type(source)]:
        lifecycle.move(target)
        assert lifecycle.state == target and seen == [target]
    else:
        with pytest.raises(RuntimeError, match="illegal state change"):
            lifecycle.move(target)
        assert lifecycle.state == source and seen == []


def test_the_table_has_no_dead_end_but_the_ones_for_the_user() -> None:
    # every state can be left; only Disconnected and Failed wait for connect()
    assert all(TRANSITIONS[type(state)] for state in ALL_STATES)
    assert TRANSITIONS[Disconnected] == TRANSITIONS[Failed] == {Connecting}


# ------------------------------------------------------------------ several readers
@pytest.mark.parametrize("readers", [2, 3])
def test_several_readers_each_message_once_even_under_backpressure(readers: int) -> None:
    async def main() -> None:
        server = FakeServer()
        client = make(server, max_queue=3)
        await client.connect()
        got: list[list[str]] = [[] for _ in range(readers)]
        total = 40

        async def reader(mine: list[str]) -> None:
            while sum(map(len, got)) < total:
                try:
                    message = await asyncio.wait_for(client.recv(), 5)
                except asyncio.TimeoutError:
                    return
                assert isinstance(message, str)
                mine.append(message)

        tasks = [asyncio.create_task(reader(mine)) for mine in got]
        await asyncio.sleep(0.01)  # every reader waits
        server.current.push(*[f"m{i:02d}" for i in range(total)])
        assert server.current.paused  # the inbox filled: readers go through the connection
        await asyncio.gather(*tasks)
        everything = sorted(m for mine in got for m in mine)
        assert everything == [f"m{i:02d}" for i in range(total)]  # each exactly once
        assert all(mine == sorted(mine) for mine in got)  # in order for each reader
        await client.close()

    run(main())


# ------------------------------------------------------------------ close() arguments
@pytest.mark.parametrize(
    ("code", "reason", "error"),
    [
        (999, "", ValueError),
        (1005, "", ValueError),
        (70000, "", ValueError),
        (-1, "", ValueError),
        ("4001", "", TypeError),
        (True, "", TypeError),
        (1000, b"bytes", TypeError),
        (1000, "x" * 124, ValueError),
    ],
)
def test_client_close_checks_its_arguments_and_keeps_working(
    code: object, reason: object, error: type[Exception]
) -> None:
    async def main() -> None:
        server = FakeServer()
        closes: list[object] = []
        client = make(server)
        client.on_close(closes.append)
        await client.connect()
        with pytest.raises(error):
            await client.close(code, reason)  # type: ignore[arg-type]
        assert isinstance(client.state, Connected) and closes == []
        await client.send("still here")
        assert server.inbox[-1] == (0, "still here")
        await client.close(4001, "done")
        assert isinstance(client.state, Disconnected)
        assert server.current.close_code == 4001

    run(main())


# ------------------------------------------------------------------ Retry-After
NOW = datetime(2026, 11, 29, 12, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("42", 42.0),
        (" 7 ", 7.0),
        ("0", 0.0),
        ("999999999", 999999999.0),
        ("-5", None),
        ("1.5", None),
        ("inf", None),
        ("nan", None),
        ("1e9", None),
        ("soon", None),
        ("", None),
        ("Sun, 29 Nov 2026 12:01:30 GMT", 90.0),
        ("Sunday, 29-Nov-26 12:00:10 GMT", 10.0),
        ("Sun Nov 29 12:00:05 2026", 5.0),
        ("Sun, 29 Nov 2026 11:00:00 GMT", 0.0),  # in the past: at once
        (None, None),
    ],
)
def test_retry_after_forms(value: str | None, seconds: float | None) -> None:
    assert _parse_retry_after(value, NOW) == seconds


def test_backoff_caps_retry_after() -> None:
    backoff = Backoff(ReconnectConfig(jitter=0, max_retry_after=120))
    assert backoff.next_delay(1e9) == 120.0
    assert backoff.next_delay(float("inf")) == 120.0
    assert backoff.next_delay(30.0) == 30.0
    assert backoff.next_delay(None) == 4.0  # 0.5 * 2**3


def test_a_huge_retry_after_does_not_park_the_client() -> None:
    async def main() -> None:
        rejected = HandshakeRejected(503, "Unavailable", {"retry-after": "999999999"})
        server = FakeServer(rejected)
        client = make(server)
        states: list[ConnectionState] = []
        client.on_state_change(states.append)
        await client.connect()
        delays = [s.delay for s in states if isinstance(s, Reconnecting)]
        assert delays == [600.0]  # the default max_retry_after
        await client.close()

    run(main())


def test_max_retry_after_is_validated() -> None:
    with pytest.raises(ConfigError, match="max_retry_after"):
        ReconnectConfig(max_retry_after=-1)
    with pytest.raises(ConfigError, match="max_retry_after"):
        ReconnectConfig(max_retry_after=float("inf"))


# ------------------------------------------------------------------ durations
def test_durations_read_back_as_float_seconds() -> None:
    config = WebSocketConfig(
        "ws://x/",
        connect_timeout=timedelta(seconds=3),
        heartbeat_interval=5,
        close_timeout=timedelta(milliseconds=250),
        send_timeout=None,
        reconnect=ReconnectConfig(initial_delay=timedelta(seconds=1), max_delay=2),
    )
    assert config.connect_timeout == 3.0 and type(config.connect_timeout) is float
    assert type(config.heartbeat_interval) is float and config.close_timeout == 0.25
    assert config.send_timeout is None
    assert config.reconnect is not None
    assert type(config.reconnect.initial_delay) is float and config.reconnect.max_delay == 2.0


def test_closed_client_reports_how_it_ended() -> None:
    async def main() -> None:
        client = make(FakeServer())
        with pytest.raises(ConnectionClosed, match="call connect"):
            await client.send("x")

    run(main())


# ------------------------------------------------------------------ heartbeat replies
def test_heartbeat_reply_value_is_not_delivered() -> None:
    async def main() -> None:
        server = FakeServer()
        client = make(server, heartbeat_reply="ok")
        await client.connect()
        server.current.push("ok", "a", b"ok", "ok", "b")
        assert [await client.recv() for _ in range(3)] == ["a", b"ok", "b"]  # type matters
        assert client.stats.messages_in == 3
        await client.close()

    run(main())


def test_heartbeat_reply_predicate_on_every_path() -> None:
    async def main() -> None:
        import json

        def is_pong(message: str | bytes) -> bool:
            return bool(json.loads(message).get("type") == "pong")

        server = FakeServer()
        client = make(server, heartbeat_reply=is_pong, max_queue=2)  # backpressure path too
        await client.connect()
        pong, data = '{"type": "pong"}', [f'{{"n": {i}}}' for i in range(6)]
        server.current.push(pong, data[0], pong, data[1], data[2], pong, *data[3:], pong)
        assert [await client.recv() for _ in range(6)] == data
        await client.close()

        seen: list[object] = []
        server = FakeServer()
        client = make(server, heartbeat_reply=is_pong)
        client.on_message(seen.append)  # the handler path
        await client.connect()
        server.current.push(pong, data[0], pong)
        assert seen == [data[0]]
        await client.close()

    run(main())


def test_a_raising_heartbeat_reply_predicate_is_reported_and_the_message_kept() -> None:
    async def main() -> None:
        errors: list[object] = []
        server = FakeServer()
        client = make(server, heartbeat_reply=lambda message: 1 / 0)
        client.on_error(errors.append)
        await client.connect()
        server.current.push("x")
        assert await client.recv() == "x"
        assert len(errors) == 1 and "heartbeat_reply" in str(errors[0])
        await client.close()

    run(main())


def test_heartbeat_with_message_and_reply_keeps_a_live_connection() -> None:
    async def main() -> None:
        server = FakeServer()
        server.on_receive = lambda conn, data: conn.push("pong") if data == "ping" else None
        client = make(
            server, heartbeat_interval=1, heartbeat_timeout=0.5, heartbeat_message="ping",
            heartbeat_reply="pong",
        )
        await client.connect()
        await asyncio.sleep(10)  # ten heartbeats
        assert isinstance(client.state, Connected) and len(server.connections) == 1
        assert sum(1 for _, data in server.inbox if data == "ping") >= 5
        server.current.push("data")
        assert await client.recv() == "data"  # no "pong" before it
        await client.close()

    run(main())


def test_heartbeat_reply_is_validated() -> None:
    with pytest.raises(ConfigError, match="heartbeat_reply"):
        WebSocketConfig("ws://x/", heartbeat_reply=5)  # type: ignore[arg-type]
    assert WebSocketConfig("ws://x/", heartbeat_reply=bytearray(b"p")).heartbeat_reply == b"p"


# ------------------------------------------------------------------ constructor and arguments
def test_client_constructor_refuses_wrong_types() -> None:
    with pytest.raises(TypeError, match="handlers"):
        WebSocketClient("ws://x/", handlers=True)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="on_open"):
        from omniws import EventHandlers

        WebSocketClient("ws://x/", handlers=EventHandlers(on_open=5))  # type: ignore[arg-type]
    for name in ("should_retry", "open_connection"):
        with pytest.raises(TypeError, match=name):
            WebSocketClient("ws://x/", **{name: "nope"})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="rng"):
        WebSocketClient("ws://x/", rng=42)  # type: ignore[arg-type]


def test_wait_connected_checks_its_timeout() -> None:
    async def main() -> None:
        client = make(FakeServer())
        await client.connect()
        for bad in (1j, -1, float("nan"), "1"):
            with pytest.raises(ValueError, match="timeout"):
                await client.wait_connected(bad)  # type: ignore[arg-type]
        await client.wait_connected(0)
        await client.close()

    run(main())


@pytest.mark.parametrize("protocols", [None, 5, 1.5, b"", b"chat", "chat", {}, {"a"}])
def test_protocols_must_be_a_list_of_names(protocols: object) -> None:
    with pytest.raises(ConfigError, match="protocols"):
        WebSocketConfig("ws://x/", protocols=protocols)  # type: ignore[arg-type]


def test_boolean_fields_are_booleans() -> None:
    from omniws import CompressionConfig

    with pytest.raises(ConfigError, match="retry_on_normal_close"):
        ReconnectConfig(retry_on_normal_close="yes")  # type: ignore[arg-type]
    for flag in ("client_no_context_takeover", "server_no_context_takeover"):
        with pytest.raises(ConfigError, match=flag):
            CompressionConfig(**{flag: 1})  # type: ignore[arg-type]


def test_a_reader_cancelled_by_a_timeout_leaves_the_others_and_the_client_usable() -> None:
    async def main() -> None:
        server = FakeServer()
        client = make(server)
        await client.connect()
        other = asyncio.create_task(client.recv())
        for _ in range(3):
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(client.recv(), 0.5)
        server.current.push("a", "b")
        assert await other == "a"
        assert await asyncio.wait_for(client.recv(), 1) == "b"
        await client.close()

    run(main())
