"""The client in a page (browser under Pyodide), on a fake page environment, in virtual time:
online/offline, pagehide/pageshow, and every listener removed on close."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable

import pytest
from fakes import FakeConnection, FakeServer
from test_client import REFUSED, make, no_tasks_left, now, record_states, vtest

import omniws._platform
from omniws.client.environment import OFFLINE_CLOSE, PAGEHIDE_CLOSE, PageEvent, PageListener
from omniws.config import ReconnectConfig, WebSocketConfig
from omniws.errors import ConfigError
from omniws.messages import CloseFrame
from omniws.state import Connected, Connecting, Disconnected, Failed, Reconnecting


class FakeEnvironment:
    """A page whose events the test fires (see omniws.client.environment.Environment)."""

    def __init__(self, online: bool = True) -> None:
        self.online = online
        self.listeners: list[PageListener] = []
        self.subscriptions = 0

    def subscribe(self, listener: PageListener) -> Callable[[], None]:
        self.listeners.append(listener)
        self.subscriptions += 1
        return lambda: self.listeners.remove(listener)

    def fire(self, event: PageEvent) -> None:
        if event in ("online", "offline"):
            self.online = event == "online"
        for listener in list(self.listeners):
            listener(event)


class PageConnection(FakeConnection):
    """A connection with the optional ``close_nowait`` hook (as the Pyodide one has)."""

    def close_nowait(self, code: int = 1000, reason: str = "") -> None:
        self.closed_by_client = CloseFrame(code, reason)
        self.loop.call_later(0.01, self.server_close, code, reason)


PAGE = FakeEnvironment()  # a fresh one per test (the fixture), as vtest bodies take no fixtures


@pytest.fixture(autouse=True)
def page(monkeypatch: pytest.MonkeyPatch) -> FakeEnvironment:
    global PAGE
    PAGE = FakeEnvironment()
    monkeypatch.setattr(omniws._platform, "page_environment", lambda: PAGE)
    return PAGE


async def settle(seconds: float = 0.05) -> None:
    await asyncio.sleep(seconds)


def test_cpython_has_no_page_and_the_flag_is_checked() -> None:
    assert WebSocketConfig("ws://x.invalid/").browser_lifecycle is True
    with pytest.raises(ConfigError, match="browser_lifecycle"):
        WebSocketConfig("ws://x.invalid/", browser_lifecycle="yes")  # type: ignore[arg-type]


@vtest
async def test_online_retries_at_once_and_resets_the_delay() -> None:
    server = FakeServer(REFUSED, REFUSED, REFUSED, REFUSED)
    reconnect = ReconnectConfig(initial_delay=10, max_delay=1000, multiplier=3, jitter=0)
    client = make(server, reconnect=reconnect)
    states = record_states(client)
    connecting = asyncio.ensure_future(client.connect())
    await settle(45)  # refused at 0, 10, 40: now waiting 90 s for retry 3
    assert len(server.attempts) == 3 and isinstance(client.state, Reconnecting)
    assert client.state.delay == 90
    PAGE.fire("online")
    await settle(0.01)
    assert len(server.attempts) == 4 and server.attempts[-1] == pytest.approx(45, abs=0.01)
    await settle(0.01)
    retry = [s for s in states if isinstance(s, Reconnecting)][-1]
    assert retry.delay == 10  # the delay started over
    await connecting
    assert len(server.attempts) == 5
    await client.close()
    assert PAGE.listeners == []
    no_tasks_left()


@vtest
async def test_offline_leaves_connected_at_once_and_on_close_says_why() -> None:
    server = FakeServer()
    client = make(server, heartbeat_interval=30)
    states = record_states(client)
    frames: list[CloseFrame] = []
    client.on_close(frames.append)
    await client.connect()
    first = server.current
    await settle(5)
    PAGE.fire("offline")
    assert first.aborted  # synchronously, from the event
    await settle(0.001)
    assert frames == [OFFLINE_CLOSE] and frames[0].reason == "offline"
    waiting = states[-1]
    assert isinstance(waiting, Reconnecting) and waiting.cause is OFFLINE_CLOSE
    assert client.state == waiting
    await client.close()
    no_tasks_left()


@vtest
async def test_offline_spends_no_attempts_tries_at_max_delay_and_online_resumes() -> None:
    server = FakeServer(None, *[REFUSED] * 30)
    reconnect = ReconnectConfig(initial_delay=1, max_delay=60, max_attempts=2, jitter=0)
    client = make(server, reconnect=reconnect)
    states = record_states(client)
    await client.connect()
    PAGE.fire("offline")
    await settle(60 * 10 + 1)
    # 10 tries at max_delay, none spent: max_attempts=2 would have failed it long ago
    assert not isinstance(client.state, Failed), client.state
    gaps = [b - a for a, b in zip(server.attempts[1:], server.attempts[2:], strict=False)]
    assert len(gaps) >= 9 and all(g == pytest.approx(60, abs=0.01) for g in gaps), gaps
    assert all(s.delay == 60 for s in states if isinstance(s, Reconnecting))
    server.script.clear()
    before = len(server.attempts)
    PAGE.fire("online")
    await settle(0.01)
    assert len(server.attempts) == before + 1 and isinstance(client.state, Connected)
    await client.close()
    no_tasks_left()


@vtest
async def test_offline_at_start_still_tries_and_fails_only_online() -> None:
    PAGE.online = False
    server = FakeServer(*[REFUSED] * 10)
    reconnect = ReconnectConfig(initial_delay=1, max_delay=5, max_attempts=2, jitter=0)
    client = make(server, reconnect=reconnect)
    connecting = asyncio.ensure_future(client.connect())
    await settle(5 * 4 + 1)
    assert len(server.attempts) == 5 and not connecting.done()
    PAGE.fire("online")  # now the policy counts again: 2 more retries, then Failed
    with pytest.raises(type(REFUSED)):
        await connecting
    assert isinstance(client.state, Failed) and len(server.attempts) == 5 + 3
    assert PAGE.listeners == []  # Failed: unsubscribed too
    await client.close()
    no_tasks_left()


@vtest
async def test_pagehide_closes_cleanly_and_pageshow_reconnects_with_on_open() -> None:
    server = FakeServer(connection_class=PageConnection)
    client = make(server, reconnect=None, send_timeout=None)  # resumed: policy or not
    states = record_states(client)
    frames: list[CloseFrame] = []
    opened: list[float] = []
    client.on_close(frames.append)
    client.on_open(lambda: opened.append(now()))
    await client.connect()
    first = server.current
    PAGE.fire("pagehide")
    assert first.closed_by_client == CloseFrame(1000, "pagehide")  # started synchronously
    await settle(1)
    assert frames == [PAGEHIDE_CLOSE] and not first.aborted
    away = client.state
    assert isinstance(away, Reconnecting) and away.cause is PAGEHIDE_CLOSE
    assert math.isinf(away.next_retry)
    sending = asyncio.ensure_future(client.send("while away"))
    await settle(3600)
    assert len(server.connections) == 1 and not sending.done()  # nothing while away
    PAGE.fire("online")  # not enough: the page is still away
    await settle(1)
    assert len(server.connections) == 1
    PAGE.fire("pageshow")
    await asyncio.wait_for(sending, 1)
    assert len(server.connections) == 2 and len(opened) == 2
    assert server.inbox == [(1, "while away")]
    assert isinstance(states[-1], Connected) and isinstance(states[-2], Connecting)
    await client.close()
    assert PAGE.listeners == []
    no_tasks_left()


@vtest
async def test_pagehide_while_connecting_closes_the_new_connection() -> None:
    server = FakeServer(5.0)  # no close_nowait: the close runs in a task
    client = make(server)
    connecting = asyncio.ensure_future(client.connect())
    await settle(1)
    PAGE.fire("pagehide")
    await settle(10)
    assert server.connections[0].closed_by_client == PAGEHIDE_CLOSE
    assert server.connections[0].close_code == 1000
    assert isinstance(client.state, Reconnecting) and not connecting.done()
    PAGE.fire("pageshow")
    await asyncio.wait_for(connecting, 1)
    assert len(server.connections) == 2
    await client.close()
    no_tasks_left()


@vtest
async def test_browser_lifecycle_false_ignores_the_page() -> None:
    server = FakeServer()
    client = make(server, browser_lifecycle=False)
    await client.connect()
    assert PAGE.subscriptions == 0 and PAGE.listeners == []
    await client.close()
    no_tasks_left()


@vtest
async def test_every_listener_is_removed_on_close_and_added_again_on_connect() -> None:
    server = FakeServer()
    client = make(server)
    for round_ in (1, 2):
        await client.connect()
        assert len(PAGE.listeners) == 1 and PAGE.subscriptions == round_
        await client.close()
        assert PAGE.listeners == [] and client.state == Disconnected()
        PAGE.fire("offline")  # after close: nothing happens
        PAGE.fire("online")
    no_tasks_left()
