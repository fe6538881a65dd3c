"""omniws.sync without a network: the Pyodide refusal, argument errors, and the thread-safe
inbox and outbox that carry messages between the calling threads and the event loop."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time

import pytest

import omniws
import omniws.sync
from omniws import ConnectionClosed, WebApiError, WebSocketTimeout
from omniws.sync import _thread
from omniws.sync._inbox import Inbox
from omniws.sync._outbox import Outbox, check_data
from omniws.sync._thread import LoopThread


def test_pyodide_refuses_with_webapierror(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_thread.sys, "platform", "emscripten")
    with pytest.raises(WebApiError, match="event loop cannot block"):
        omniws.sync.connect("ws://127.0.0.1:9/")
    with pytest.raises(WebApiError, match="use the async API"):
        omniws.sync.WebSocketClient("ws://127.0.0.1:9/")


def test_module_imports_under_pyodide() -> None:
    code = (
        "import sys, omniws\n"
        "sys.platform = 'emscripten'\n"
        "import omniws.sync\n"
        "try:\n"
        "    omniws.sync.connect('ws://127.0.0.1:9/')\n"
        "except omniws.WebApiError:\n"
        "    print('refused')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.stdout.strip() == "refused", result.stderr


def test_connect_arguments_are_checked_before_any_thread_starts() -> None:
    before = set(threading.enumerate())
    with pytest.raises(omniws.ConfigError, match="needs a ws:// or wss:// URL"):
        omniws.sync.connect()
    with pytest.raises(TypeError, match="either config= or a URL"):
        omniws.sync.connect("ws://127.0.0.1:9/", config=omniws.WebSocketConfig("ws://x/"))
    with pytest.raises(omniws.ConfigError, match="max_queue"):
        omniws.sync.connect("ws://127.0.0.1:9/", max_queue=0)
    assert set(threading.enumerate()) == before


def test_check_data() -> None:
    assert check_data("é") == ("é", 1)
    buffer = bytearray(b"abc")
    data, size = check_data(buffer)
    buffer[0] = 0
    assert (data, size) == (b"abc", 3)  # a copy: later changes do not leak into the queue
    assert check_data(memoryview(b"xy")) == (b"xy", 2)
    with pytest.raises(TypeError, match=r"str .* or bytes"):
        check_data(42)


def test_client_before_connect() -> None:
    client = omniws.sync.WebSocketClient("ws://127.0.0.1:9/")
    with pytest.raises(ConnectionClosed, match=r"call connect\(\)"):
        client.send("x")
    with pytest.raises(ConnectionClosed, match=r"call connect\(\)"):
        client.recv(timeout=0)
    with pytest.raises(ValueError, match="close code 999 cannot be sent"):
        client.close(999)
    with pytest.raises(TypeError, match="plain function"):

        @client.on_message
        async def handler(message: object) -> None: ...

    client.close()  # nothing to close: returns
    assert isinstance(client.state, omniws.Disconnected)


def test_inbox_timeout_then_message() -> None:
    inbox = Inbox(8, lambda: None)
    with pytest.raises(WebSocketTimeout, match="recv timed out"):
        inbox.get(0.05)
    inbox.put("a")
    assert inbox.get(0) == "a"
    with pytest.raises(ValueError, match="recv timeout"):
        inbox.get(-1)


def test_inbox_end_wakes_reader_after_queued_messages() -> None:
    inbox = Inbox(8, lambda: None)
    got: list[object] = []

    def read() -> None:
        while True:
            try:
                got.append(inbox.get(None))
            except ConnectionClosed as exc:
                got.append(exc.code)
                return

    reader = threading.Thread(target=read)
    reader.start()
    time.sleep(0.05)
    inbox.put("one")
    inbox.put(b"two")
    inbox.end(ConnectionClosed(4000))
    reader.join(10)
    assert got == ["one", b"two", 4000]


def test_inbox_asks_for_room_once_drained_to_a_quarter() -> None:
    asked: list[int] = []
    inbox = Inbox(8, lambda: asked.append(len(inbox.messages)))
    for i in range(8):
        inbox.put(str(i))
    inbox.full = True  # as the loop side marks it when it stops reading
    taken = [inbox.get(0) for _ in range(6)]
    assert taken == [str(i) for i in range(6)]
    assert asked == [2]  # once, at limit / 4
    assert not inbox.full


@pytest.fixture
def loop_thread() -> object:
    thread = LoopThread("test loop")
    yield thread
    thread.stop()
    assert not thread.thread.is_alive()


def test_outbox_keeps_each_senders_order(loop_thread: LoopThread) -> None:
    written: list[object] = []

    def nowait(data: object) -> bool:
        written.append(data)
        return True

    async def write(data: object) -> None:
        raise AssertionError("not used")

    outbox = Outbox(
        loop_thread.loop, 1 << 20, nowait, write, lambda: loop_thread.call(outbox.flush)
    )
    senders = [
        threading.Thread(target=lambda s=s: [outbox.put(f"{s}:{i}", 4) for i in range(500)])
        for s in range(4)
    ]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join(10)
    assert _wait(lambda: len(written) == 2000)
    for s in range(4):
        mine = [m for m in written if isinstance(m, str) and m.startswith(f"{s}:")]
        assert mine == [f"{s}:{i}" for i in range(500)]


def test_outbox_blocks_senders_while_the_writer_is_paused(loop_thread: LoopThread) -> None:
    released = threading.Event()
    written: list[object] = []

    async def write(data: object) -> None:  # a paused transport: waits for the drain
        while not released.is_set():
            await asyncio.sleep(0.01)
        written.append(data)

    outbox = Outbox(
        loop_thread.loop, 10, lambda d: False, write, lambda: loop_thread.call(outbox.flush)
    )
    done: list[int] = []

    def send() -> None:
        for i in range(4):
            outbox.put(f"{i:08d}", 8)
            done.append(i)

    sender = threading.Thread(target=send)
    sender.start()
    time.sleep(0.3)
    assert sender.is_alive() and len(done) < 4, "the sender should wait for the backlog"
    released.set()
    sender.join(10)
    assert done == [0, 1, 2, 3]
    assert _wait(lambda: len(written) == 4)
    outbox.end(ConnectionClosed(1000))
    with pytest.raises(ConnectionClosed):
        outbox.put("late", 4)


def test_run_from_the_loop_is_refused(loop_thread: LoopThread) -> None:
    async def nested() -> str:
        async def inner() -> None: ...

        try:
            loop_thread.run(inner())
        except RuntimeError as exc:
            return str(exc)
        return "no error"

    assert "would block the omniws event loop" in loop_thread.run(nested())


def _wait(check: object, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True
