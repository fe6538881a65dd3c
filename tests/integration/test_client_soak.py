"""Soak: many reconnect cycles under traffic, bounded in time.

The client sends numbered messages as fast as a modest pace allows while the fault proxy
cuts the connection at random intervals (RST or FIN), sometimes stalls it past the heartbeat
timeout, and sometimes refuses connections for a moment. A server of our own records every
message it receives and acknowledges each. At the end:

- every message the server received (hence every acknowledgement) was sent by the client,
  nothing is duplicated at the server and the order is kept (at most once, no re-send);
- every acknowledgement the client got is for a message the server recorded, once;
- each server-side connection that received anything got the ``on_open`` subscription first;
- the client ends Disconnected after close(), with no task left.

Duration: ``OMNIWS_SOAK_SECONDS`` (default 60). The numbers are printed at the end.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection

from omniws import (
    Connected,
    ConnectionClosed,
    ConnectionState,
    Disconnected,
    ReconnectConfig,
    Reconnecting,
    WebSocketClient,
    WebSocketConfig,
    WebSocketError,
    WebSocketTimeout,
)

from .faultproxy import FaultProxy, RecordingServer, omniws_tasks, wait_until

SOAK_SECONDS = float(os.environ.get("OMNIWS_SOAK_SECONDS", "60"))
SEED = int(os.environ.get("OMNIWS_SOAK_SEED", "20240611"))
SUBSCRIBE = "subscribe"


async def ack_numbers(srv: RecordingServer, ws: ServerConnection) -> None:
    """Record every message; answer ``ack N`` for a numbered one, ``subscribed`` else."""
    record = srv.connections[-1]
    for _ in range(100_000_000):  # bounded; each iteration awaits a message
        message = await ws.recv()
        record.append(message)
        if isinstance(message, str) and message[:1].isdigit():
            await ws.send(f"ack {message.split(' ', 1)[0]}")
        else:
            await ws.send("subscribed")


@pytest.fixture
async def soak_server() -> AsyncIterator[RecordingServer]:
    srv = await RecordingServer(ack_numbers).start()
    try:
        yield srv
    finally:
        await srv.stop()


@pytest.fixture
async def soak_proxy(soak_server: RecordingServer) -> AsyncIterator[FaultProxy]:
    proxy = await FaultProxy("127.0.0.1", soak_server.port).start()
    try:
        yield proxy
    finally:
        await proxy.close()


class Faults:
    """Injects a random fault every 0.05-0.6 s until stopped; counts them by kind."""

    def __init__(self, proxy: FaultProxy, client: WebSocketClient, rng: random.Random) -> None:
        self.proxy = proxy
        self.client = client
        self.missed_stalls = 0
        self.rng = rng
        self.counts = {"rst": 0, "fin": 0, "stall": 0, "refuse": 0}

    async def run(self, until: float, heartbeat_dead_after: float) -> None:
        loop = asyncio.get_running_loop()
        proxy, rng = self.proxy, self.rng
        for _ in range(1_000_000):  # bounded by count and by ``until``
            if loop.time() >= until:
                return
            await asyncio.sleep(rng.uniform(0.05, 0.6))
            roll = rng.random()
            if roll < 0.55:
                self.counts["rst"] += await proxy.drop_all(rst=True) > 0
            elif roll < 0.85:
                self.counts["fin"] += await proxy.drop_all(rst=False) > 0
            elif roll < 0.93:
                self.counts["stall"] += 1  # the heartbeat must find it
                before = self.client.stats.connections
                was_connected = self.client.state == Connected()
                proxy.stall("both")
                await asyncio.sleep(heartbeat_dead_after + 0.3)
                still = self.client.state == Connected()
                if was_connected and still and self.client.stats.connections == before:
                    self.missed_stalls += 1  # the dead connection was not noticed
                proxy.resume()
            else:
                self.counts["refuse"] += 1
                await proxy.stop(drop=True)
                await asyncio.sleep(rng.uniform(0.1, 0.5))
                await proxy.start()


class Sender:
    """Sends numbered messages (some large), recording what happened to each."""

    def __init__(self, client: WebSocketClient, rng: random.Random) -> None:
        self.client = client
        self.rng = rng
        self.attempted: list[int] = []
        self.sent_ok: list[int] = []
        self.raised: dict[int, str] = {}
        self.acked: list[int] = []
        self.received = 0
        self.stop = False

    def on_message(self, message: Any) -> None:
        self.received += 1
        if isinstance(message, str) and message.startswith("ack "):
            self.acked.append(int(message[4:]))

    async def run(self) -> None:
        client, rng = self.client, self.rng
        for n in range(10_000_000):  # bounded by count, and stopped by the test
            if self.stop:
                return
            pad = rng.choice((0, 0, 0, 10, 200, 3000)) if n % 50 else 40_000
            message = f"{n} {'x' * pad}" if pad else str(n)
            self.attempted.append(n)
            try:
                await client.send(message)
            except (ConnectionClosed, WebSocketTimeout) as exc:
                self.raised[n] = type(exc).__name__  # may or may not have reached the server
            else:
                self.sent_ok.append(n)
            if n % 10 == 9:
                await asyncio.sleep(0.002)  # a modest pace: ~4000 messages/s at most
            backlog = n - (self.acked[-1] if self.acked else 0)
            for _ in range(200):  # bounded wait while far ahead of the acknowledgements
                if backlog < 2000 or self.stop:
                    break
                await asyncio.sleep(0.005)
                backlog = n - (self.acked[-1] if self.acked else 0)


async def test_soak_reconnect_cycles_under_traffic(
    soak_server: RecordingServer, soak_proxy: FaultProxy, capsys: pytest.CaptureFixture[str]
) -> None:
    interval, timeout = 0.4, 0.4
    client = WebSocketClient(
        WebSocketConfig(
            f"{soak_proxy.url}/soak",
            reconnect=ReconnectConfig(initial_delay=0.02, max_delay=0.3, reset_after=1.0),
            heartbeat_interval=interval,
            heartbeat_timeout=timeout,
            connect_timeout=3,
            close_timeout=2,
            send_timeout=15,
            compression=False,
        )
    )
    rng = random.Random(SEED)
    sender = Sender(client, random.Random(SEED + 1))
    client.on_message(sender.on_message)
    states: list[ConnectionState] = []
    client.on_state_change(states.append)
    errors: list[WebSocketError] = []
    client.on_error(errors.append)

    subscribed_ok = [0]

    @client.on_open
    async def subscribe() -> None:
        await client.send(SUBSCRIBE)
        subscribed_ok[0] += 1

    faults = Faults(soak_proxy, client, rng)
    loop = asyncio.get_running_loop()
    started = time.monotonic()
    await asyncio.wait_for(client.connect(), 10)
    sending = asyncio.create_task(sender.run())
    await faults.run(loop.time() + SOAK_SECONDS, interval + timeout)

    # calm: let the client reconnect, then fence with one more message and its ack
    await wait_until(lambda: client.state == Connected(), 20, "Connected")
    await wait_until(lambda: len(sender.acked) > 0, 20, "acknowledgements")
    fence_from = len(sender.sent_ok)
    await wait_until(lambda: len(sender.sent_ok) > fence_from + 10, 20, "more sends")
    fence = sender.sent_ok[-1]
    await wait_until(lambda: fence in sender.acked, 20, "the fence's acknowledgement")
    sender.stop = True
    await asyncio.wait_for(sending, 30)
    await asyncio.sleep(0.5)  # the last acknowledgements
    stats = client.stats
    await asyncio.wait_for(client.close(), 10)
    elapsed = time.monotonic() - started

    # --- the server's view: at most once, in order, after the subscription -------------
    numbered = [
        int(m.split(" ", 1)[0])
        for conn in soak_server.connections
        for m in conn
        if isinstance(m, str) and m[:1].isdigit()
    ]
    received = set(numbered)
    assert len(received) == len(numbered), "a message reached the server twice"
    assert numbered == sorted(numbered), "messages reached the server out of order"
    assert received <= set(sender.attempted), "the server got a message nobody sent"
    for record in soak_server.connections:
        assert not record or record[0] == SUBSCRIBE, "a queued send went out before on_open"

    # --- the client's view ----------------------------------------------------------------
    acked = sender.acked
    assert len(set(acked)) == len(acked), "an acknowledgement arrived twice"
    assert set(acked) <= received
    assert acked == sorted(acked)
    lost_in_flight = sorted(set(sender.sent_ok) - received)  # at most once: allowed
    delivered_after_error = sorted(set(sender.raised) & received)  # ambiguous: allowed
    never_confirmed = received - set(acked)  # acks lost in the cuts
    assert not (set(sender.sent_ok) & set(sender.raised))
    assert len(sender.sent_ok) + len(sender.raised) == len(sender.attempted)

    # --- the end state ------------------------------------------------------------------
    assert client.state == Disconnected()
    assert omniws_tasks() == set()
    reconnects = stats.reconnects
    cycles = sum(isinstance(s, Reconnecting) for s in states)
    subscribes = sum(1 for conn in soak_server.connections if conn[:1] == [SUBSCRIBE])
    assert reconnects >= max(3, int(SOAK_SECONDS)), (reconnects, faults.counts)
    assert len(acked) >= 100 * SOAK_SECONDS
    assert stats.messages_out == len(sender.sent_ok) + subscribed_ok[0]
    assert stats.messages_in == sender.received
    assert subscribes <= stats.connections
    heartbeat_timeouts = sum(
        isinstance(e, WebSocketTimeout) and e.operation == "heartbeat" for e in errors
    )
    assert faults.missed_stalls == 0, "a stalled connection outlived interval + timeout"
    with capsys.disabled():
        print(
            f"\nsoak {elapsed:.1f} s: {reconnects} reconnects ({cycles} Reconnecting states), "
            f"faults {faults.counts}, {heartbeat_timeouts} heartbeat timeouts "
            f"(stalls missed: {faults.missed_stalls}); "
            f"{len(sender.attempted)} messages attempted, {len(sender.sent_ok)} sent, "
            f"{len(sender.raised)} raised; server received {len(received)}, "
            f"client got {len(acked)} acks; lost in flight {len(lost_in_flight)}, "
            f"delivered although send() raised {len(delivered_after_error)}, "
            f"received but ack lost {len(never_confirmed)}; duplicates 0"
        )
