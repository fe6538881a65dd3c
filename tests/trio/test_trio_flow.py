"""Flow under trio: backpressure on the receive queue and on writes, cancelled recv() and
send() keep every message whole, abort() is immediate, close() leaves no task behind."""

from __future__ import annotations

import pytest
import trio
from conftest import open_ws
from trio_servers import echo_frames, frame, start_server

from omniws import ConnectionClosed

COUNT = 300
MESSAGES = [str(i).ljust(1000, ".") for i in range(COUNT)]  # 300 kB: several reads


async def flood(stream: trio.SocketStream) -> None:
    """Send COUNT numbered messages at once, then echo."""
    await stream.send_all(b"".join(frame(message.encode()) for message in MESSAGES))
    await echo_frames(stream)


def test_a_full_queue_pauses_reading_and_recv_resumes_it() -> None:
    async def main() -> None:
        async with trio.open_nursery() as nursery:
            url = await start_server(nursery, flood)
            ws = await open_ws(url, max_queue=8)
            await trio.sleep(0.2)
            assert ws.reading_paused
            queued = len(ws._queue)
            await trio.sleep(0.1)
            assert len(ws._queue) == queued  # nothing more was read
            assert 8 <= queued < COUNT
            got = [await ws.recv() for _ in range(COUNT)]
            assert got == MESSAGES
            assert not ws.reading_paused
            await ws.close()
            nursery.cancel_scope.cancel()

    trio.run(main)


def test_cancelled_recv_keeps_every_message() -> None:
    async def trickle(stream: trio.SocketStream) -> None:
        for i in range(COUNT):
            await stream.send_all(frame(str(i).encode()))
            if i % 7 == 0:
                await trio.sleep(0.002)
        await echo_frames(stream)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            url = await start_server(nursery, trickle)
            ws = await open_ws(url)
            got: list[object] = []
            cancelled = 0
            with trio.fail_after(30):
                while len(got) < COUNT:
                    with trio.move_on_after(0.0005) as scope:
                        got.append(await ws.recv())
                    cancelled += scope.cancelled_caught
            assert got == [str(i) for i in range(COUNT)]
            assert cancelled > 0  # the test did cancel waiting receives
            await ws.close()
            nursery.cancel_scope.cancel()

    trio.run(main)


def test_cancelled_send_still_writes_whole_frames(py_server: str) -> None:
    async def main() -> None:
        async with await open_ws(f"{py_server}/echo", compression=False) as ws:
            with trio.CancelScope() as scope:
                scope.cancel()
                await ws.send("never")  # cancelled before it started: nothing is sent
            big = bytes(range(256)) * 80_000  # 20 MB: far more than a millisecond's worth
            with trio.move_on_after(0.001) as scope:
                await ws.send(big)
            assert scope.cancelled_caught
            await ws.send("after")
            assert await ws.recv() == big
            assert await ws.recv() == "after"

    trio.run(main)


def test_send_waits_above_write_limit() -> None:
    async def deaf(stream: trio.SocketStream) -> None:
        await trio.sleep_forever()

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            url = await start_server(nursery, deaf)
            ws = await open_ws(url, write_limit=1024)
            chunk = b"x" * 65536
            sent = 0
            with trio.move_on_after(1):
                for _ in range(10_000):  # the kernel's buffers fill, then send() waits
                    await ws.send(chunk)
                    sent += 1
            assert 0 < sent < 10_000
            for _ in range(10):
                ws.send_nowait(chunk)
            assert ws.write_paused
            errors: list[BaseException] = []

            async def blocked_send() -> None:
                try:
                    await ws.send(chunk)
                except ConnectionClosed as exc:
                    errors.append(exc)

            nursery.start_soon(blocked_send)
            await trio.sleep(0.05)
            ws.abort()  # wakes the waiting send() with the closed error
            with pytest.raises(ConnectionClosed):
                await ws.send(chunk)
            await ws.wait_closed()
            assert len(errors) == 1 and errors[0].code == 1006  # type: ignore[attr-defined]
            writer = ws._writer.task
            assert writer is not None and writer.done()
            assert writer._error is None  # it stopped quietly, nothing to log
            nursery.cancel_scope.cancel()

    trio.run(main)


def test_send_buffers_up_to_write_limit_when_the_peer_is_slow() -> None:
    async def deaf(stream: trio.SocketStream) -> None:
        await trio.sleep_forever()

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            url = await start_server(nursery, deaf)
            ws = await open_ws(url, write_limit=64 * 1024 * 1024)
            with trio.fail_after(10):  # the kernel's buffers fill; send() buffers the rest
                for _ in range(512):
                    await ws.send(b"x" * 65536)
            assert ws._writer.size > 0 and not ws.write_paused
            ws.abort()
            nursery.cancel_scope.cancel()

    trio.run(main)


def test_abort_is_immediate_and_leaves_no_task() -> None:
    async def main() -> None:
        baseline = trio.lowlevel.current_statistics().tasks_living
        async with trio.open_nursery() as nursery:
            url = await start_server(nursery, flood)
            serving = trio.lowlevel.current_statistics().tasks_living
            ws = await open_ws(url)
            ws.send_nowait("x")
            ws.abort()
            assert ws.closed and ws.close_code == 1006
            with pytest.raises(ConnectionClosed) as info:
                while True:  # what was queued before the abort may still be read
                    await ws.recv()
            assert info.value.code == 1006
            frame_ = await ws.wait_closed()
            assert frame_.code == 1006
            with trio.fail_after(5):
                while trio.lowlevel.current_statistics().tasks_living > serving:
                    await trio.sleep(0.01)  # the server's handler sees the end
            nursery.cancel_scope.cancel()
        assert trio.lowlevel.current_statistics().tasks_living == baseline

    trio.run(main)


def test_close_leaves_no_task_running(py_server: str) -> None:
    async def main() -> None:
        baseline = trio.lowlevel.current_statistics().tasks_living
        ws = await open_ws(f"{py_server}/echo")
        await ws.send("one")
        assert await ws.recv() == "one"
        await ws.ping()
        ws.send_nowait("two")  # starts the writer task
        assert trio.lowlevel.current_statistics().tasks_living > baseline
        await ws.close()
        assert trio.lowlevel.current_statistics().tasks_living == baseline
        assert ws.close_code == 1000

    trio.run(main)


def test_message_handler_runs_in_the_reader() -> None:
    async def main() -> None:
        async with trio.open_nursery() as nursery:
            url = await start_server(nursery, flood)
            ws = await open_ws(url)
            seen: list[object] = []
            done = trio.Event()

            def handler(message: object) -> None:
                seen.append(message)
                if len(seen) == COUNT:
                    ws.send_nowait("echo me")
                if message == "echo me":
                    done.set()

            ws.set_message_handler(handler)
            with trio.fail_after(10):
                await done.wait()
            assert seen[:COUNT] == MESSAGES
            await ws.close()
            nursery.cancel_scope.cancel()

    trio.run(main)


def test_close_is_bounded_by_close_timeout() -> None:
    async def never_answers(stream: trio.SocketStream) -> None:
        while await stream.receive_some(65536):
            pass

    async def main() -> None:
        baseline = trio.lowlevel.current_statistics().tasks_living
        async with trio.open_nursery() as nursery:
            url = await start_server(nursery, never_answers)
            serving = trio.lowlevel.current_statistics().tasks_living
            ws = await open_ws(url, close_timeout=0.2)
            with trio.fail_after(10):
                await ws.close(4000, "bye")
            assert ws.closed and ws.close_code == 1006  # the peer never closed
            assert trio.lowlevel.current_statistics().tasks_living <= serving + 1  # + handler
            nursery.cancel_scope.cancel()
        assert trio.lowlevel.current_statistics().tasks_living == baseline

    trio.run(main)
