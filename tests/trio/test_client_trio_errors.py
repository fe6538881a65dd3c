"""WebSocketClient under trio.run: the same errors and final states as on asyncio, and
timeouts that are trio's own cancel scopes."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import trio
from trio_support import ServerThread, omniws_tasks

from omniws import (
    ConnectionFailed,
    Disconnected,
    Failed,
    HandshakeRejected,
    ReconnectConfig,
    WebSocketClient,
    WebSocketConfig,
)


@pytest.fixture
def servers() -> Iterator[ServerThread]:
    """The test's servers (``servers.server()``, ``servers.proxy()``), stopped after it."""
    with ServerThread() as thread:
        yield thread


def test_refused_connection_without_reconnect_fails() -> None:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        port = sock.getsockname()[1]  # closed on leaving: the port refuses
    config = WebSocketConfig(f"ws://127.0.0.1:{port}/", reconnect=None)

    async def main() -> None:
        client = WebSocketClient(config)
        with pytest.raises(ConnectionFailed):
            await client.connect()
        state = client.state
        assert isinstance(state, Failed) and isinstance(state.error, ConnectionFailed)
        assert state.recoverable  # the error was transient; the client was told not to retry
        await client.close()
        assert omniws_tasks() == []

    trio.run(main)


def test_rejected_handshake_is_not_retried(servers: ServerThread) -> None:
    server = servers.server()
    servers.call_sync(lambda: server.rejections.append((403, {})))
    fast = ReconnectConfig(initial_delay=0.01, max_delay=0.02, jitter=0.0)

    async def main() -> None:
        client = WebSocketClient(WebSocketConfig(server.url, reconnect=fast))
        with pytest.raises(HandshakeRejected) as caught:
            await client.connect()
        assert caught.value.status == 403
        state = client.state
        assert isinstance(state, Failed) and not state.recoverable
        await client.close()

    trio.run(main)
    assert len(server.requests) == 1  # asked once: a 403 is final


def test_cancel_scope_bounds_a_connect_that_never_completes() -> None:
    """The server accepts TCP and never answers the handshake: the caller's scope, not
    connect_timeout (30 s), ends the wait; the client is closed on the way out."""
    with socket.create_server(("127.0.0.1", 0), backlog=8) as silent:  # never accept()ed
        url = f"ws://127.0.0.1:{silent.getsockname()[1]}/"
        states: list[object] = []

        async def main() -> None:
            client = WebSocketClient(WebSocketConfig(url))
            client.on_state_change(states.append)
            with trio.move_on_after(0.3) as scope:
                async with client:
                    raise AssertionError("connected to a server that never answered")
            assert scope.cancelled_caught
            assert isinstance(client.state, Disconnected)
            assert omniws_tasks() == []

        trio.run(main)
    assert [type(state).__name__ for state in states][:1] == ["Connecting"]


def test_fail_after_around_send_and_recv_is_trios_error(servers: ServerThread) -> None:
    server = servers.server()

    async def main() -> None:
        async with WebSocketClient(WebSocketConfig(server.url)) as client:
            with pytest.raises(trio.TooSlowError):
                with trio.fail_after(0.1):
                    await client.recv()
            await client.send("after the timeout")
            with trio.fail_after(10):
                assert await client.recv() == "after the timeout"

    trio.run(main)
