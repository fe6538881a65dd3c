"""The API spec shared by the front ends: each ``spec_*`` function runs with every driver
(spec_drivers.py: async and sync; spec_trio_driver.py: trio) against every real server
(test_sync_spec.py)."""

from __future__ import annotations

import threading
import time

import pytest

import omniws
from omniws import ConnectionClosed, ReconnectConfig, WebSocketConfig, WebSocketTimeout

from .spec_drivers import Driver


def spec_echo_text_and_binary(driver: Driver, base: str) -> None:
    ws = driver.connect(base + "/echo", compression=False)
    ws.send("héllo")
    text = ws.recv(timeout=10)
    ws.send(b"\x00\x01\xfe\xff")
    binary = ws.recv(timeout=10)
    ws.send(bytearray(b"mutable"))
    copied = ws.recv(timeout=10)
    ws.close()
    assert (text, binary, copied) == ("héllo", b"\x00\x01\xfe\xff", b"mutable")
    assert isinstance(text, str) and isinstance(binary, bytes)
    assert ws.close_code == 1000


def spec_recv_timeout_keeps_connection_usable(driver: Driver, base: str) -> None:
    ws = driver.connect(base + "/echo")
    with pytest.raises(WebSocketTimeout) as caught:
        ws.recv(timeout=0.2)
    assert isinstance(caught.value, TimeoutError)
    ws.send("still here")
    started = time.monotonic()
    assert ws.recv(timeout=30) == "still here"
    waited = time.monotonic() - started
    ws.close()
    assert waited < 15, f"recv() returned after {waited:.1f} s: it waited for its timeout"


def spec_iteration_ends_on_clean_close(driver: Driver, base: str) -> None:
    for code in (1000, 1001):
        ws = driver.connect(f"{base}/close?code={code}&reason=done")
        assert ws.drain() == []
        assert ws.close_code == code
        ws.close()


def spec_iteration_raises_on_error_close(driver: Driver, base: str) -> None:
    ws = driver.connect(f"{base}/close?code=4001&reason=bye")
    with pytest.raises(ConnectionClosed) as caught:
        ws.drain()
    assert (caught.value.code, caught.value.reason) == (4001, "bye")
    ws.close()


def spec_messages_before_close_are_kept(driver: Driver, base: str) -> None:
    ws = driver.connect(base + "/send?size=3000")
    assert ws.recv(timeout=10) == bytes(range(256)) * 11 + bytes(range(184))
    ws.close()
    with pytest.raises(ConnectionClosed):
        ws.recv(timeout=10)


def spec_ping_returns_rtt(driver: Driver, base: str) -> None:
    ws = driver.connect(base + "/echo")
    rtts = [ws.ping() for _ in range(3)]
    ws.send("after pings")
    assert ws.recv(timeout=10) == "after pings"
    ws.close()
    assert all(isinstance(rtt, float) and rtt > 0 for rtt in rtts)


def spec_subprotocol_and_headers(driver: Driver, base: str) -> None:
    ws = driver.connect(base + "/subprotocol", protocols=["chat"])
    assert ws.recv(timeout=10) == "chat"
    assert ws.subprotocol == "chat"
    assert ws.response_headers.get("upgrade", "").lower() == "websocket"
    ws.close(4000, "bye")
    assert ws.close_code == 4000


def spec_client_echo(driver: Driver, base: str) -> None:
    opened: list[int] = []
    client = driver.client(
        WebSocketConfig(base + "/echo", heartbeat_interval=0.2), on_open=lambda: opened.append(1)
    )
    client.connect()
    client.send("one")
    client.send(b"two")
    received = [client.recv(timeout=10), client.recv(timeout=10)]
    assert driver.wait_until(lambda: client.stats.last_rtt is not None)  # a heartbeat ran
    client.send("three")
    received.append(client.recv(timeout=10))
    stats = client.stats
    client.close()
    assert received == ["one", b"two", "three"]
    assert opened == [1]
    assert (stats.messages_in, stats.messages_out) == (3, 3)
    assert isinstance(client.state, omniws.Disconnected)
    with pytest.raises(ConnectionClosed):
        client.send("after close")


def spec_client_recv_timeout_keeps_client_usable(driver: Driver, base: str) -> None:
    client = driver.client(WebSocketConfig(base + "/echo", heartbeat_interval=None))
    client.connect()
    for _ in range(2):
        with pytest.raises(WebSocketTimeout):
            client.recv(timeout=0.2)
    client.send("still here")
    assert client.recv(timeout=10) == "still here"
    client.close()


def spec_client_reconnects(driver: Driver, base: str) -> None:
    opened: list[int] = []
    fast = ReconnectConfig(initial_delay=0.02, max_delay=0.05, jitter=0.0)
    config = WebSocketConfig(base + "/close?code=1012", reconnect=fast, heartbeat_interval=None)
    client = driver.client(config, on_open=lambda: opened.append(1))
    client.connect()
    assert driver.wait_until(lambda: len(opened) >= 3), f"on_open ran {len(opened)} times"
    reconnects = client.stats.reconnects
    client.close()
    assert reconnects >= 2
    assert isinstance(client.state, omniws.Disconnected)


def spec_send_while_reconnecting_is_bounded(driver: Driver, base: str) -> None:
    slow = ReconnectConfig(initial_delay=60.0, max_delay=60.0, jitter=0.0)
    config = WebSocketConfig(
        base + "/close?code=1012", reconnect=slow, heartbeat_interval=None, send_timeout=0.3
    )
    client = driver.client(config)
    client.connect()
    assert driver.wait_until(lambda: isinstance(client.state, omniws.Reconnecting))
    started = time.monotonic()
    with pytest.raises(WebSocketTimeout):
        client.send("waits for a connection that comes in a minute")
    waited = time.monotonic() - started
    client.close()  # abandons the backoff wait
    assert waited >= 0.25, f"send() gave up after {waited:.3f} s, before send_timeout"
    assert isinstance(client.state, omniws.Disconnected)


def spec_no_thread_left_after_close(driver: Driver, base: str) -> None:
    before = set(threading.enumerate())
    ws = driver.connect(base + "/echo")
    ws.send("x")
    assert ws.recv(timeout=10) == "x"
    ws.close()
    client = driver.client(WebSocketConfig(base + "/echo"))
    client.connect()
    client.send("y")
    assert client.recv(timeout=10) == "y"
    client.close()
    left = set(threading.enumerate()) - before
    assert not left, f"threads left after close(): {left}"


SPECS = [
    spec_echo_text_and_binary,
    spec_recv_timeout_keeps_connection_usable,
    spec_iteration_ends_on_clean_close,
    spec_iteration_raises_on_error_close,
    spec_messages_before_close_are_kept,
    spec_ping_returns_rtt,
    spec_subprotocol_and_headers,
    spec_client_echo,
    spec_client_recv_timeout_keeps_client_usable,
    spec_client_reconnects,
    spec_send_while_reconnecting_is_bounded,
    spec_no_thread_left_after_close,
]
