"""`omniws serve` as a real process, with omniws clients: echo, one log line per connection
(with the peer's address) on standard error, clean stops on SIGTERM and Ctrl-C, --chaos,
and its errors."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Callable

import pytest
from integration.support import free_port

import omniws

from .conftest import ServeProcess, run

Serve = Callable[..., ServeProcess]


def _raw_request(url: str, request: bytes) -> tuple[int, bytes]:
    """Send ``request`` over plain TCP; our local port and the start of the answer."""
    match = re.fullmatch(r"ws://([^:/]+):(\d+)/", url)
    assert match, url
    host, port = match.groups()
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        local = sock.getsockname()[1]
        if not request:
            return local, b""
        sock.sendall(request)
        return local, sock.recv(100)


async def test_echo_a_line_per_connection_and_sigterm(serve_command: Serve) -> None:
    server = serve_command("--port", "0")
    url = await asyncio.to_thread(server.listening)
    async with omniws.connect(url, protocols=["chat"]) as ws:
        assert ws.subprotocol == "chat"
        await ws.send("hello")
        assert await asyncio.wait_for(ws.recv(), 10) == "hello"
        await ws.send(b"\x00\xff")
        assert await asyncio.wait_for(ws.recv(), 10) == b"\x00\xff"
        await asyncio.to_thread(server.expect, r"127\.0\.0\.1:\d+: connected \(subprotocol chat\)")
    await asyncio.to_thread(
        server.expect, r"127\.0\.0\.1:\d+: closed: 1000 \(NORMAL_CLOSURE\); 2 message\(s\) echoed"
    )

    port, answer = _raw_request(url, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 426 ")
    await asyncio.to_thread(
        server.expect, rf"127\.0\.0\.1:{port}: not a WebSocket request: answered HTTP 426"
    )
    port, _ = _raw_request(url, b"")
    await asyncio.to_thread(server.expect, rf"127\.0\.0\.1:{port}: left before the WebSocket")

    ws = await omniws.connect(url)
    await asyncio.to_thread(server.expect, r"127\.0\.0\.1:\d+: connected\n")
    server.terminate()
    with pytest.raises(omniws.ConnectionClosed) as caught:
        await asyncio.wait_for(ws.recv(), 10)
    assert caught.value.code == 1001  # going away, not a drop
    assert await asyncio.to_thread(server.wait) == 0
    assert "SIGTERM: stopping; closing 1 connection(s) with 1001" in server.text
    assert re.search(r"127\.0\.0\.1:\d+: closed: 1001 \(GOING_AWAY\); 0 message", server.text)
    assert server.text.rstrip().endswith("* stopped")
    assert server.stdout_file.read_bytes() == b""  # the log is on standard error only


async def test_ctrl_c_closes_with_1001_and_exits_130(serve_command: Serve) -> None:
    server = serve_command("--port", "0")
    url = await asyncio.to_thread(server.listening)
    clients = [await omniws.connect(url) for _ in range(2)]
    for i, ws in enumerate(clients):
        await ws.send(f"m{i}")
        assert await asyncio.wait_for(ws.recv(), 10) == f"m{i}"
    server.interrupt()
    for ws in clients:
        with pytest.raises(omniws.ConnectionClosed) as caught:
            await asyncio.wait_for(ws.recv(), 10)
        assert caught.value.code == 1001
    assert await asyncio.to_thread(server.wait) == 130
    assert "interrupted (Ctrl-C): stopping; closing 2 connection(s) with 1001" in server.text
    closed = re.findall(r"127\.0\.0\.1:\d+: closed: 1001 \(GOING_AWAY\)", server.text)
    assert len(closed) == 2, server.text  # both clients answered the close: a clean stop


async def test_chaos_drops_and_a_client_comes_back(serve_command: Serve) -> None:
    server = serve_command("--port", "0", "--chaos", "--chaos-interval", "0.3")
    url = await asyncio.to_thread(server.listening)
    config = omniws.WebSocketConfig(
        url=url, reconnect=omniws.ReconnectConfig(initial_delay=0.05, max_delay=0.3)
    )
    async with omniws.WebSocketClient(config) as client:
        await asyncio.to_thread(server.expect, r"chaos: the server (dropped|goes away)", 30)
        for _ in range(300):  # bounded: at most 30 s
            if client.stats.reconnects >= 1 and isinstance(client.state, omniws.Connected):
                break
            await asyncio.sleep(0.1)
        assert client.stats.reconnects >= 1
        await client.send("after the chaos")

        async def echoed() -> None:
            async for message in client:
                if message == "after the chaos":
                    return

        await asyncio.wait_for(echoed(), 30)
    server.interrupt()
    assert await asyncio.to_thread(server.wait) == 130
    assert re.search(r"127\.0\.0\.1:\d+: dropped without a close frame \(1006\)", server.text)


def test_the_defaults_are_127_0_0_1_port_8765(serve_command: Serve) -> None:
    server = serve_command()  # 8765 may be taken on a shared machine: then it says so
    found = server.expect(
        r"listening on ws://127\.0\.0\.1:8765/;|cannot listen on 127\.0\.0\.1:8765: "
    )
    if found.group().startswith("listening"):
        server.interrupt()
        assert server.wait() == 130
    else:
        assert server.wait() == 1


def test_a_taken_port_exits_1_with_a_hint() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("serve", "--port", str(port), timeout=20)
    assert result.returncode == 1
    assert result.stderr.startswith(f"omniws: error: cannot listen on 127.0.0.1:{port}: ")
    assert "choose another port with --port (0: any free port)" in result.stderr


def test_usage_errors_exit_2() -> None:
    bad_port = run("serve", "--port", "70000")
    assert bad_port.returncode == 2
    assert "a port is 0 to 65535 (0: any free port), not 70000" in bad_port.stderr
    assert run("demo", "--port", "-1", "-s", "x").returncode == 2
    assert run("serve", "ws://127.0.0.1:1/").returncode == 2  # no client in serve
    assert run("serve", "--chaos-interval", "0").returncode == 2
    usage = run("serve", "--help")
    assert usage.returncode == 0
    for line in ("0    stopped by SIGTERM", "1    cannot listen", "130  stopped by Ctrl-C"):
        assert line in usage.stdout


def test_ipv6_loopback(serve_command: Serve) -> None:
    with socket.socket(socket.AF_INET6) as probe:
        probe.bind(("::1", 0))  # an error here: this machine has no IPv6 loopback
    port = free_port("::1")
    server = serve_command("--host", "::1", "--port", str(port))
    assert server.listening() == f"ws://[::1]:{port}/"
    result = run(server.url, "-s", "six", "-n", "1", "--raw", "-t", "10")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "six\n"
    server.expect(r"\[::1\]:\d+: connected")
    server.interrupt()
    assert server.wait() == 130
