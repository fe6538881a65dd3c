"""The trio reader on plain TCP reads the socket itself (wait for readability, then a
non-blocking ``recv``) while TLS still reads through the stream; stopping the writer (which
closes that socket, telling trio first) wakes a waiting reader at once; no descriptor is
left open however a connection ends; the frame budget lets other tasks run."""

from __future__ import annotations

import gc
import itertools
import os
import socket
from typing import Any

import pytest
import trio
import trio.testing
from conftest import open_ws
from trio_servers import echo_frames, frame, start_server

from omniws.trio_io.connection import FRAME_BUDGET, _receive_socket

FD_DIR = "/proc/self/fd"


async def silent(stream: trio.SocketStream) -> None:
    """Send nothing; end when the client leaves."""
    while await stream.receive_some(65536):
        pass


async def hang_up(stream: trio.SocketStream) -> None:
    """Close the TCP connection at once, without a close frame."""


def test_plain_tcp_reads_the_socket_not_the_stream(
    py_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def forbidden(self: Any, max_bytes: Any = None) -> Any:
        raise AssertionError("the reader called SocketStream.receive_some")

    async def main() -> None:
        async with await open_ws(f"{py_server}/echo") as ws:
            monkeypatch.setattr(trio.SocketStream, "receive_some", forbidden)
            for size in (5, 70_000, 300_000):  # one read, several reads of READ_SIZE
                message = bytes(range(256)) * (size // 256) + b"x"
                await ws.send(message)
                assert await ws.recv() == message
            monkeypatch.undo()
        assert ws.close_code == 1000

    trio.run(main)


def test_tls_still_reads_through_the_stream(wss_server: str, client_ssl: Any) -> None:
    calls = 0
    original = trio.SSLStream.receive_some

    async def counted(self: Any, max_bytes: Any = None) -> Any:
        nonlocal calls
        calls += 1
        return await original(self, max_bytes)

    async def main() -> None:
        async with await open_ws(f"{wss_server}/echo", ssl=client_ssl) as ws:
            assert ws._writer.raw is None
            before = calls
            await ws.send("over TLS")
            assert await ws.recv() == "over TLS"
            assert calls > before

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(trio.SSLStream, "receive_some", counted)
        trio.run(main)


def test_stopping_the_writer_wakes_the_waiting_reader() -> None:
    async def main() -> None:
        async with trio.open_nursery() as nursery:
            url = await start_server(nursery, silent)
            ws = await open_ws(url)
            await trio.testing.wait_all_tasks_blocked()  # the reader waits: nothing comes
            reader = ws._reader
            assert reader is not None and not reader.done()
            raw = ws._writer.raw
            assert raw is not None
            ws._writer.stop()  # closes the reader's socket, and nothing else wakes it
            assert raw.fileno() == -1
            with trio.fail_after(10):  # the silent peer sends nothing: only the wake ends it
                await ws.wait_closed()
            assert reader.done() and not reader.cancelled()
            assert reader._error is None  # it ended quietly, nothing to log
            assert ws.close_code == 1006
            nursery.cancel_scope.cancel()

    trio.run(main)


def test_abort_ends_the_waiting_reader_quietly() -> None:
    async def main() -> None:
        async with trio.open_nursery() as nursery:
            url = await start_server(nursery, silent)
            for _ in range(3):  # the next connection may get the descriptors just freed
                ws = await open_ws(url)
                await trio.testing.wait_all_tasks_blocked()
                ws.abort()
                with trio.fail_after(10):
                    await ws.wait_closed()
                assert ws._reader is not None and ws._reader._error is None
            async with await open_ws(f"{url}") as ws:
                assert not ws.closed  # trio's I/O state is sound after the aborts
            nursery.cancel_scope.cancel()

    trio.run(main)


@pytest.mark.skipif(not os.path.isdir(FD_DIR), reason="needs /proc/self/fd (Linux)")
def test_no_descriptor_is_left_open() -> None:
    def open_fds() -> int:
        return len(os.listdir(FD_DIR))

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            echo = await start_server(nursery, echo_frames)
            quiet = await start_server(nursery, silent)
            gone = await start_server(nursery, hang_up)
            serving = trio.lowlevel.current_statistics().tasks_living
            async with await open_ws(echo) as ws:  # warm-up: trio's own descriptors
                await ws.send("warm")
            gc.collect()  # sockets earlier tests dropped close now, not during the count
            before = open_fds()
            for round_ in range(15):
                async with await open_ws(echo) as ws:  # close handshake
                    await ws.send(str(round_))
                    assert await ws.recv() == str(round_)
                ws = await open_ws(quiet)  # aborted while the reader waits
                await trio.testing.wait_all_tasks_blocked()
                ws.abort()
                await ws.wait_closed()
                ws = await open_ws(gone)  # end of stream from the peer
                with trio.fail_after(10):
                    assert (await ws.wait_closed()).code == 1006
            with trio.fail_after(10):
                while trio.lowlevel.current_statistics().tasks_living > serving:
                    await trio.sleep(0.01)  # the servers' handlers close their ends
            gc.collect()
            # at most as many as before: 45 connections leaking would show; other threads of
            # the test process (servers of earlier tests) may close descriptors meanwhile
            assert open_fds() <= before
            nursery.cancel_scope.cancel()

    trio.run(main)


def test_the_frame_budget_lets_other_tasks_run() -> None:
    count = 8 * FRAME_BUDGET
    burst = b"".join(frame(b"m%d" % i) for i in range(count))  # under READ_SIZE: one read

    async def flood(stream: trio.SocketStream) -> None:
        await stream.send_all(burst)
        await echo_frames(stream)

    async def main() -> None:
        ticks = 0
        seen: list[int] = []  # the tick count when each message arrived
        done = trio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await trio.lowlevel.checkpoint()

        def handler(message: object) -> None:
            seen.append(ticks)
            if len(seen) == count:
                done.set()

        async with trio.open_nursery() as nursery:
            url = await start_server(nursery, flood)
            ws = await open_ws(url)
            ws.set_message_handler(handler)
            nursery.start_soon(ticker)
            with trio.fail_after(20):
                await done.wait()
            longest = run = 1
            for previous, current in itertools.pairwise(seen):
                run = run + 1 if current == previous else 1
                longest = max(longest, run)
            # the ticker runs once per scheduler batch, in a shuffled order: two of the
            # reader's turns can fall between two ticks, never three
            assert longest <= 2 * FRAME_BUDGET
            await ws.close()
            nursery.cancel_scope.cancel()

    trio.run(main)


class _Spurious:
    """A socket that reports readable once with nothing to read (as after a wake-up that
    another reader of the same socket beat), then behaves."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.recvs = 0

    def fileno(self) -> int:
        return self.sock.fileno()

    def recv(self, size: int) -> bytes:
        self.recvs += 1
        if self.recvs == 1:
            raise BlockingIOError(11, "Resource temporarily unavailable")
        if self.recvs == 2:
            raise InterruptedError(4, "Interrupted system call")
        return self.sock.recv(size)


def test_receive_socket_waits_again_after_a_spurious_wake_and_sees_the_end() -> None:
    async def main() -> None:
        ours, theirs = socket.socketpair()
        ours.setblocking(False)
        with ours, theirs:
            theirs.send(b"hello")
            flaky = _Spurious(ours)
            assert await _receive_socket(flaky) == b"hello"  # type: ignore[arg-type]
            assert flaky.recvs == 3
            theirs.shutdown(socket.SHUT_WR)
            assert await _receive_socket(ours) == b""
            trio.lowlevel.notify_closing(ours)
            ours.close()
            with pytest.raises(trio.ClosedResourceError):
                await _receive_socket(ours)

    trio.run(main)
