"""The heartbeat in a page whose timers run late (hidden tab, busy main thread, frozen page),
in virtual time: a stall of the loop is a jump of the clock with no callback running."""

from __future__ import annotations

import asyncio

import pytest
from fakes import FakeConnection, FakeServer
from test_client import make, no_tasks_left, now, vtest
from test_client_page import FakeEnvironment

import omniws._platform
from omniws.errors import WebSocketTimeout
from omniws.messages import Data
from omniws.state import Connected, Reconnecting

PAGE = FakeEnvironment()  # a fresh one per test (the fixture), as vtest bodies take no fixtures


@pytest.fixture(autouse=True)
def page(monkeypatch: pytest.MonkeyPatch) -> FakeEnvironment:
    global PAGE
    PAGE = FakeEnvironment()
    monkeypatch.setattr(omniws._platform, "page_environment", lambda: PAGE)
    return PAGE


def echo_heartbeat(server: FakeServer, delay: float = 0.001) -> list[float]:
    """The server answers each "hb" with "hb-ack" after ``delay``; returns the send times."""
    probes: list[float] = []

    def on_receive(conn: FakeConnection, data: Data) -> None:
        if data == "hb":
            probes.append(now())
            conn.loop.call_later(delay, conn.push, "hb-ack")

    server.on_receive = on_receive
    return probes


def stall(seconds: float) -> None:
    """The main thread is blocked: time passes, nothing runs."""
    loop = asyncio.get_running_loop()
    loop.advance(seconds)  # type: ignore[attr-defined]


def config(**extra: object) -> dict[str, object]:
    return {
        "heartbeat_interval": 1,
        "heartbeat_timeout": 1,
        "heartbeat_message": "hb",
        "heartbeat_reply": "hb-ack",
        **extra,
    }


@vtest
async def test_a_reply_queued_behind_a_late_deadline_timer_counts() -> None:
    server = FakeServer()
    probes: list[float] = []

    def on_receive(conn: FakeConnection, data: Data) -> None:
        if data != "hb":
            return
        probes.append(now())
        if len(probes) == 1:  # right after the first probe the main thread blocks for 3 s:
            conn.loop.call_soon(blocked, conn)  # its reply waits in the event queue, behind
        else:  # the deadline timer that became overdue meanwhile
            conn.loop.call_later(0.001, conn.push, "hb-ack")

    def blocked(conn: FakeConnection) -> None:
        stall(3.0)
        conn.loop.call_later(0.001, conn.push, "hb-ack")

    server.on_receive = on_receive
    client = make(server, **config())  # type: ignore[arg-type]
    await client.connect()
    conn = server.current
    await asyncio.sleep(10)
    assert len(probes) >= 3 and probes[1] - probes[0] > 3  # the stall happened
    assert not conn.aborted and isinstance(client.state, Connected)
    assert len(server.connections) == 1
    await client.close()
    no_tasks_left()


@vtest
async def test_a_late_deadline_gives_the_peer_a_full_timeout_of_running_time() -> None:
    server = FakeServer()
    probes = echo_heartbeat(server, delay=1e9)  # answers only when the test says so
    client = make(server, **config())  # type: ignore[arg-type]
    await client.connect()
    conn = server.current
    await asyncio.sleep(1.001)
    assert len(probes) == 1
    stall(3.0)  # the probe's deadline (2.0) runs late, at about 4.0: the peer (or our
    loop = asyncio.get_running_loop()  # reading of it) had no running time to answer
    loop.call_later(0.3, conn.push, "hb-ack")  # 0.3 s after the stall: within a window
    await asyncio.sleep(1.5)  # (before the next probe's deadline, which nobody answers)
    assert not conn.aborted and len(server.connections) == 1
    assert len(probes) == 2 and probes[1] > 4.3
    await client.close()
    no_tasks_left()


@vtest
async def test_a_late_deadline_still_finds_a_dead_connection() -> None:
    server = FakeServer()
    echo_heartbeat(server, delay=1e9)  # never answers
    client = make(server, **config())  # type: ignore[arg-type]
    errors: list[BaseException] = []
    client.on_error(errors.append)
    await client.connect()
    conn = server.current
    await asyncio.sleep(1.01)
    asyncio.get_running_loop().call_later(0.1, stall, 3.0)
    await asyncio.sleep(0.2)
    assert not conn.aborted  # the late deadline gave it another window...
    await asyncio.sleep(1.5)
    assert conn.aborted  # ...in which nothing came either
    assert isinstance(errors[0], WebSocketTimeout) and errors[0].operation == "heartbeat"
    await client.close()
    no_tasks_left()


@vtest
async def test_stalls_at_every_deadline_postpone_detection_only_once() -> None:
    server = FakeServer()
    echo_heartbeat(server, delay=1e9)  # never answers
    client = make(server, **config())  # type: ignore[arg-type]
    await client.connect()
    conn = server.current
    aborted: list[float] = []
    real_abort = conn.abort

    def abort() -> None:
        aborted.append(now())
        real_abort()

    conn.abort = abort  # type: ignore[method-assign]
    await asyncio.sleep(1.01)  # the probe is out: deadline 2.0
    loop = asyncio.get_running_loop()
    for when in (1.91, 5.5, 9.0, 12.5, 16.0):  # a hidden, busy page: every deadline is late
        loop.call_at(when, stall, 3.0)
    await asyncio.sleep(20)
    # the first late deadline (2.0, at 4.91) gave one more window; the second (5.96, at 8.5)
    # found nothing either: dead then, not postponed while the stalls go on
    assert aborted and aborted[0] == pytest.approx(8.55, abs=0.1), aborted
    await client.close()
    no_tasks_left()


@vtest
async def test_on_time_deadlines_keep_their_timeout() -> None:
    server = FakeServer()
    echo_heartbeat(server, delay=1e9)
    client = make(server, **config())  # type: ignore[arg-type]
    await client.connect()
    conn, start = server.current, now()
    while not conn.aborted:
        await asyncio.sleep(0.01)
    assert now() - start == pytest.approx(2.0 + 0.05, abs=0.02)  # interval + timeout + settle
    await client.close()
    no_tasks_left()


@vtest
async def test_a_blocked_main_thread_causes_no_reconnection() -> None:
    server = FakeServer()
    probes = echo_heartbeat(server)
    client = make(server, **config())  # type: ignore[arg-type]
    await client.connect()
    for when in (0.5, 1.0005, 1.002, 2.7):  # before, at and around a probe
        asyncio.get_running_loop().call_later(when, stall, 3.0)
    await asyncio.sleep(20)
    assert len(server.connections) == 1 and isinstance(client.state, Connected)
    assert len(probes) >= 5
    await client.close()
    no_tasks_left()


@pytest.mark.parametrize("event", ["visible", "resume"])
def test_visible_and_resume_probe_at_once(event: str) -> None:
    @vtest
    async def body() -> None:
        server = FakeServer()
        client = make(server, heartbeat_interval=30, heartbeat_timeout=5)
        await client.connect()
        conn = server.current
        await asyncio.sleep(10)
        assert conn.pings == 0
        PAGE.fire(event)  # type: ignore[arg-type]
        await asyncio.sleep(0.001)
        assert conn.pings == 1  # at 10 s, not at 30 s
        conn.answer_pings = False
        await asyncio.sleep(1)  # (a nudge while a probe is out changes nothing)
        PAGE.fire(event)  # type: ignore[arg-type]
        await asyncio.sleep(5.1)
        assert conn.aborted and isinstance(client.state, Reconnecting | Connected)
        assert now() < 30
        await client.close()
        no_tasks_left()

    body()


def test_hidden_and_freeze_do_not_probe() -> None:
    @vtest
    async def body() -> None:
        server = FakeServer()
        client = make(server, heartbeat_interval=30, heartbeat_timeout=5)
        await client.connect()
        conn = server.current
        await asyncio.sleep(10)
        PAGE.fire("hidden")
        PAGE.fire("freeze")
        await asyncio.sleep(1)
        assert conn.pings == 0
        await client.close()
        no_tasks_left()

    body()
