"""WebSocketClient under trio.run: cancel scopes around recv() and the client, close() from
another task, and no task left behind."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
import trio
from trio_support import CloseRecorder, ServerThread, omniws_tasks, wait_until

from omniws import ConnectionClosed, Disconnected, WebSocketClient, WebSocketConfig


@pytest.fixture
def servers() -> Iterator[ServerThread]:
    """The test's servers (``servers.server()``, ``servers.proxy()``), stopped after it."""
    with ServerThread() as thread:
        yield thread


async def _cancel_after(scope: trio.CancelScope, steps: int) -> None:
    for _ in range(steps):
        await trio.lowlevel.checkpoint()
    scope.cancel()


# max_queue=2: the client's inbox fills at once, and the messages are read through the
# connection's own recv() (the backpressure path) instead of the inbox
@pytest.mark.parametrize("max_queue", [1024, 2])
def test_cancelled_recv_loses_no_message(servers: ServerThread, max_queue: int) -> None:
    server = servers.server()
    count = 300
    received: list[str | bytes] = []
    cancelled = 0
    rng = random.Random(max_queue)

    async def main() -> None:
        nonlocal cancelled
        config = WebSocketConfig(server.url, heartbeat_interval=None, max_queue=max_queue)
        async with WebSocketClient(config) as client:
            sent_all = trio.Event()

            async def sender() -> None:
                for number in range(count):
                    await client.send(str(number))
                    if number % 4 == 0:  # echoes arrive while recv() waits, and in bursts
                        await trio.sleep(0.002)
                sent_all.set()

            async with trio.open_nursery() as nursery:
                nursery.start_soon(sender)
                progress = trio.current_time()
                while len(received) < count:
                    # cancelled by a deadline, or from another task after a random number of
                    # scheduling steps: before, while and just after a message arrives
                    if rng.random() < 0.5:
                        scope = trio.move_on_after(0.0005 * rng.randrange(7))
                    else:
                        scope = trio.CancelScope()
                        nursery.start_soon(_cancel_after, scope, rng.randrange(12))
                    with scope:
                        received.append(await client.recv())
                        progress = trio.current_time()
                    cancelled += scope.cancelled_caught
                    if sent_all.is_set() and trio.current_time() - progress > 10:
                        break  # the echoes stopped coming: some were lost

    trio.run(main)
    assert received == [str(number) for number in range(count)]
    assert cancelled > 0, "no scope was cancelled: the test checked nothing"


def test_cancelled_recv_on_an_idle_client_leaves_it_usable(servers: ServerThread) -> None:
    server = servers.server()

    async def main() -> None:
        async with WebSocketClient(WebSocketConfig(server.url)) as client:
            for _ in range(3):
                with trio.move_on_after(0.05) as scope:
                    await client.recv()
                assert scope.cancelled_caught
            await client.send("still here")
            with trio.fail_after(10):
                assert await client.recv() == "still here"

    trio.run(main)


def test_close_from_another_task_ends_a_waiting_recv(servers: ServerThread) -> None:
    server = servers.server()
    outcome: list[object] = []

    async def main() -> None:
        client = WebSocketClient(WebSocketConfig(server.url))
        await client.connect()

        async def reader() -> None:
            try:
                outcome.append(await client.recv())
            except ConnectionClosed as exc:
                outcome.append(exc)

        with trio.fail_after(20):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(reader)
                await trio.sleep(0.2)
                assert outcome == []  # recv() is waiting
                await client.close()
        assert isinstance(client.state, Disconnected)

    trio.run(main)
    assert len(outcome) == 1 and isinstance(outcome[0], ConnectionClosed), outcome


def test_close_against_a_silent_peer_is_bounded_by_close_timeout(servers: ServerThread) -> None:
    server = servers.server()
    proxy = servers.proxy(server)
    waited: list[float] = []

    async def main() -> None:
        config = WebSocketConfig(proxy.url, heartbeat_interval=None, close_timeout=0.5)
        client = WebSocketClient(config)
        await client.connect()
        servers.call_sync(lambda: proxy.stall("both"))  # the close frame gets no answer
        started = trio.current_time()
        with trio.fail_after(60):  # close_timeout x 120: it must not wait for the peer
            await client.close()
        waited.append(trio.current_time() - started)
        assert isinstance(client.state, Disconnected)
        assert omniws_tasks() == []

    trio.run(main)
    assert waited[0] >= 0.4, f"close() gave up after {waited[0]:.2f} s, before close_timeout"


def test_no_task_left_after_close(servers: ServerThread) -> None:
    server = servers.server()
    found: dict[str, object] = {}

    async def main() -> None:
        await trio.sleep(0)
        before = trio.lowlevel.current_statistics().tasks_living
        config = WebSocketConfig(server.url, heartbeat_interval=0.05)
        client = WebSocketClient(config)

        async def on_message(message: object) -> None:
            await trio.sleep(0)

        client.on_message(on_message)
        client.on_state_change(lambda state: None)
        await client.connect()
        for number in range(5):
            await client.send(str(number))
        await wait_until(lambda: client.stats.messages_in == 5, what="the echoes")
        await wait_until(lambda: client.stats.last_rtt is not None, what="a heartbeat")
        found["running"] = omniws_tasks()
        await client.close()
        found["left"] = omniws_tasks()
        found["living"] = trio.lowlevel.current_statistics().tasks_living - before

    trio.run(main)
    assert found["running"], "omniws_tasks() found no task while the client ran"
    assert found["left"] == [], found
    assert found["living"] == 0, found


def test_cancelled_scope_around_the_client_still_closes_it(servers: ServerThread) -> None:
    recorder = CloseRecorder()
    server = servers.server(recorder)

    async def main() -> None:
        config = WebSocketConfig(server.url, heartbeat_interval=None)
        with trio.move_on_after(0.3) as scope:
            async with WebSocketClient(config) as client:
                await client.send("hello")
                assert await client.recv() == "hello"
                await client.recv()  # waits until the scope is cancelled
        assert scope.cancelled_caught
        assert isinstance(client.state, Disconnected)
        assert omniws_tasks() == []

    trio.run(main)
    servers.wait_until(lambda: len(recorder.closes) == 1, what="the connection to end")
    assert recorder.closes == [1000], "the server saw no close frame"
