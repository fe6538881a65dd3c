"""WebSocketClient under trio.run: sync and async handlers, and one that raises."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import trio
from trio_support import ServerThread, wait_until

from omniws import (
    CloseFrame,
    EventHandlers,
    HandlerError,
    Message,
    WebSocketClient,
    WebSocketConfig,
    WebSocketError,
)


@pytest.fixture
def servers() -> Iterator[ServerThread]:
    """The test's servers (``servers.server()``, ``servers.proxy()``), stopped after it."""
    with ServerThread() as thread:
        yield thread


def test_sync_handlers(servers: ServerThread) -> None:
    server = servers.server()
    events: list[object] = []

    async def main() -> None:
        client = WebSocketClient(
            WebSocketConfig(server.url),
            handlers=EventHandlers(
                on_open=lambda: events.append("open"),
                on_message=events.append,
                on_close=events.append,
            ),
        )
        async with client:
            for message in ("a", b"b", "c"):
                await client.send(message)
            await wait_until(lambda: len(events) == 4, what="three messages")

    trio.run(main)
    assert events == ["open", "a", b"b", "c", CloseFrame(1000)]


def test_async_handlers_run_in_order_and_may_send(servers: ServerThread) -> None:
    server = servers.server()
    messages: list[Message] = []
    states: list[str] = []

    async def main() -> None:
        client = WebSocketClient(WebSocketConfig(server.url))

        @client.on_open
        async def subscribe() -> None:
            await trio.sleep(0.01)
            await client.send("subscribed")

        @client.on_message
        async def keep(message: Message) -> None:
            await trio.sleep(0.001 * (len(messages) % 3))  # later ones could overtake
            messages.append(message)

        @client.on_state_change
        async def note(state: object) -> None:
            await trio.sleep(0)
            states.append(type(state).__name__)

        async with client:
            for number in range(20):
                await client.send(str(number))
            await wait_until(lambda: len(messages) == 21, what="21 messages")

    trio.run(main)
    assert messages == ["subscribed", *(str(number) for number in range(20))]
    assert states[:2] == ["Connecting", "Connected"] and states[-1] == "Disconnected"


def test_a_raising_handler_is_reported_and_the_client_keeps_going(
    servers: ServerThread,
) -> None:
    server = servers.server()
    errors: list[WebSocketError] = []
    kept: list[Message] = []

    async def main() -> None:
        client = WebSocketClient(WebSocketConfig(server.url))

        @client.on_message
        async def handle(message: Message) -> None:
            if message == "boom":
                raise ValueError("the handler broke")
            kept.append(message)

        client.on_error(errors.append)
        async with client:
            await client.send("boom")
            await client.send("after")
            await wait_until(lambda: kept == ["after"], what="the message after the error")

    trio.run(main)
    assert len(errors) == 1 and isinstance(errors[0], HandlerError), errors
    assert isinstance(errors[0].__cause__, ValueError)
