"""omniws.sync from several threads at once, against real servers on loopback."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest

import omniws
import omniws.sync
from omniws import ConnectionClosed

from .spec_servers import DeafServer, PingingServer, SilentServer


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    server = SilentServer()
    try:
        yield server
    finally:
        server.stop()


def test_idle_connection_still_answers_pings() -> None:
    # after recv() the event loop sits unused in no thread; the background thread must
    # take it over and answer the server's ping while the application does other things
    server = PingingServer()
    try:
        ws = omniws.sync.connect(server.url, close_timeout=0.5)
        with pytest.raises(omniws.WebSocketTimeout):
            ws.recv(timeout=0.1)  # this thread takes the event loop over from now on
        ws.send("go")
        assert ws.recv(timeout=10) == "hi"
        time.sleep(1.0)  # the ping arrives meanwhile; nobody calls the connection
        back = time.monotonic()
        pong_at = server.pong_at
        ws.close()
    finally:
        server.stop()
    assert pong_at is not None, "the ping was never answered"
    assert pong_at < back, "the pong waited for the application to call the connection"


def test_polling_with_timeout_zero_receives(server_url: str) -> None:
    ws = omniws.sync.connect(server_url + "/echo")
    with pytest.raises(omniws.WebSocketTimeout):
        ws.recv(timeout=0.1)  # this thread takes the event loop over from now on
    ws.send("polled")
    deadline = time.monotonic() + 10
    got: object = None
    while got is None and time.monotonic() < deadline:
        with contextlib.suppress(omniws.WebSocketTimeout):
            got = ws.recv(timeout=0)  # each call must look at the socket itself
    ws.close()
    assert got == "polled"


def test_close_from_another_thread_wakes_recv_at_once(silent_server: SilentServer) -> None:
    # the server never answers the close: close() takes close_timeout, recv() must not
    ws = omniws.sync.connect(silent_server.url, close_timeout=2.0)
    outcome: list[object] = []

    def reader() -> None:
        try:
            outcome.append(ws.recv())
        except ConnectionClosed as exc:
            outcome.append(exc)
        outcome.append(time.monotonic())

    thread = threading.Thread(target=reader)
    thread.start()
    time.sleep(0.2)  # let the reader block (it runs the event loop meanwhile)
    started = time.monotonic()
    ws.close(1000, "bye")
    closed = time.monotonic() - started
    thread.join(10)
    error, woke_at = outcome
    assert isinstance(error, ConnectionClosed) and error.code == 1000
    woke = float(woke_at) - started  # type: ignore[arg-type]
    assert closed >= 1.5, "close() should have waited for the (missing) close handshake"
    assert woke < closed / 3, f"recv() woke {woke:.3f} s after close(), which took {closed:.3f}"


def test_iteration_in_another_thread_ends_on_close(server_url: str) -> None:
    ws = omniws.sync.connect(config=omniws.WebSocketConfig(server_url + "/echo"))
    received: list[object] = []
    thread = threading.Thread(target=lambda: received.extend(ws))
    thread.start()
    for i in range(20):
        ws.send(f"m{i}")
    assert _wait(lambda: len(received) == 20)
    ws.close()
    thread.join(10)
    assert not thread.is_alive()
    assert received == [f"m{i}" for i in range(20)]


def test_send_blocks_while_the_peer_does_not_read() -> None:
    server = DeafServer()
    try:
        ws = omniws.sync.connect(server.url, write_limit=64 * 1024, close_timeout=0.5)
        sent: list[int] = []
        outcome: list[BaseException] = []

        def send_all() -> None:
            try:
                for i in range(200):
                    ws.send(bytes(1024 * 1024))  # 200 MiB: far beyond the socket buffers
                    sent.append(i)
            except ConnectionClosed as exc:
                outcome.append(exc)

        sender = threading.Thread(target=send_all)
        sender.start()
        assert _wait(lambda: len(sent) > 0)
        time.sleep(1.0)
        stuck_at = len(sent)
        assert sender.is_alive() and stuck_at < 200, "send() should wait for the peer"
        ws.close()  # wakes the blocked sender
        sender.join(30)
    finally:
        server.stop()
    assert not sender.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], ConnectionClosed)
    assert len(sent) <= stuck_at + 1


def test_close_from_many_threads_at_once(server_url: str) -> None:
    before = set(threading.enumerate())
    ws = omniws.sync.connect(server_url + "/echo")
    errors: list[BaseException] = []

    def close() -> None:
        try:
            ws.close()
        except BaseException as exc:
            errors.append(exc)

    closers = [threading.Thread(target=close) for _ in range(4)]
    for thread in closers:
        thread.start()
    for thread in closers:
        thread.join(30)
    assert errors == []
    assert ws.close_code == 1000
    with pytest.raises(ConnectionClosed):
        ws.send("after close")
    assert not set(threading.enumerate()) - before


def test_concurrent_senders_never_interleave(server_url: str) -> None:
    senders, per_sender, size = 6, 12, 150_000
    ws = omniws.sync.connect(server_url + "/echo", compression=False, write_limit=64 * 1024)

    def send_all(sender: int) -> None:
        for seq in range(per_sender):
            ws.send(bytes([sender, seq]) * (size // 2))  # every byte pair names its message

    threads = [threading.Thread(target=send_all, args=(s,)) for s in range(senders)]
    for thread in threads:
        thread.start()
    replies = [ws.recv(timeout=30) for _ in range(senders * per_sender)]
    for thread in threads:
        thread.join(30)
    ws.close()
    order: dict[int, list[int]] = {}
    for reply in replies:
        assert isinstance(reply, bytes) and len(reply) == size - size % 2
        sender, seq = reply[0], reply[1]
        assert reply == bytes([sender, seq]) * (size // 2), "a message was interleaved"
        order.setdefault(sender, []).append(seq)
    assert order == {s: list(range(per_sender)) for s in range(senders)}


def test_readers_and_senders_in_many_threads(server_url: str) -> None:
    ws = omniws.sync.connect(server_url + "/echo", max_queue=4)
    sent = [f"{s}:{i}" for s in range(4) for i in range(100)]
    got: list[object] = []
    lock = threading.Lock()

    def read(count: int) -> None:
        for _ in range(count):
            message = ws.recv(timeout=30)
            with lock:
                got.append(message)

    readers = [threading.Thread(target=read, args=(200,)) for _ in range(2)]
    senders = [
        threading.Thread(target=lambda s=s: [ws.send(f"{s}:{i}") for i in range(100)])
        for s in range(4)
    ]
    for thread in readers + senders:
        thread.start()
    for thread in readers + senders:
        thread.join(30)
    ws.close()
    assert sorted(got) == sorted(sent)  # type: ignore[type-var]


def test_inbound_backpressure_keeps_order(server_url: str) -> None:
    # max_queue=8: the connection stops reading and resumes many times over
    ws = omniws.sync.connect(server_url + "/echo", max_queue=8)
    for i in range(300):
        ws.send(f"n{i}")
    time.sleep(0.3)  # replies pile up while nobody reads (no ping: its pong would wait too)
    received = [ws.recv(timeout=10) for _ in range(300)]
    ws.close()
    assert received == [f"n{i}" for i in range(300)]


def test_client_handlers_run_on_its_thread_and_may_send(server_url: str) -> None:
    client = omniws.sync.WebSocketClient(server_url + "/echo")
    threads: list[str] = []

    @client.on_open
    def hello() -> None:
        threads.append(threading.current_thread().name)
        client.send("hello from on_open")  # does not block the client's thread

    with client:
        assert client.recv(timeout=10) == "hello from on_open"
    assert threads and threads[0].startswith("omniws.sync.WebSocketClient")
    assert threads[0] != threading.current_thread().name


def test_client_close_from_a_handler(server_url: str) -> None:
    client = omniws.sync.WebSocketClient(server_url + "/echo")
    seen: list[object] = []

    @client.on_message
    def on_message(message: object) -> None:
        seen.append(message)
        client.close(4000, "enough")  # from the client's own thread: does not wait

    before = set(threading.enumerate())
    client.connect()
    with pytest.raises(RuntimeError, match="on_message handlers"):
        client.recv(timeout=1)
    client.send("stop")
    assert _wait(lambda: isinstance(client.state, omniws.Disconnected))
    assert seen == ["stop"]
    assert _wait(lambda: not set(threading.enumerate()) - before)


def _wait(check: object, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_failed_connect_leaves_no_thread() -> None:
    before = set(threading.enumerate())
    with socket.socket() as bound:  # bound, not listening: connections are refused
        bound.bind(("127.0.0.1", 0))
        url = f"ws://127.0.0.1:{bound.getsockname()[1]}/"
        with pytest.raises(omniws.ConnectionFailed):
            omniws.sync.connect(url, connect_timeout=5)
    assert not set(threading.enumerate()) - before


def test_client_connects_again_after_close(server_url: str) -> None:
    client = omniws.sync.WebSocketClient(server_url + "/echo")
    opened: list[int] = []
    client.on_open(lambda: opened.append(1))
    for word in ("first", "second"):
        with client:
            client.send(word)
            assert client.recv(timeout=10) == word
        assert isinstance(client.state, omniws.Disconnected)
    assert opened == [1, 1]
