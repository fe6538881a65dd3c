"""Standard input for the ``omniws`` command: lines as they are typed or piped, read without
blocking the event loop and without leaving a thread that could hang the exit."""

from __future__ import annotations

import asyncio
import os
import stat
import sys
import threading
from collections.abc import AsyncIterator

__all__ = ["isatty", "stdin_lines"]

_READ_SIZE = 65536


def isatty(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # closed
        return False


async def stdin_lines() -> AsyncIterator[str]:
    """Lines of standard input (without the line end) as they arrive, until end of input.

    A terminal or a pipe is watched by the event loop; a regular file is read at once;
    anything else (or an event loop that cannot watch it) is read by a daemon thread."""
    try:
        fd = sys.stdin.fileno()
        mode = os.fstat(fd).st_mode
    except (AttributeError, OSError, ValueError):
        return  # no standard input at all
    if stat.S_ISREG(mode):
        with os.fdopen(os.dup(fd), "rb") as file:
            data = file.read()
        for line in data.splitlines():
            yield line.decode(errors="replace")
        return
    loop = asyncio.get_running_loop()
    chunks: asyncio.Queue[bytes] = asyncio.Queue()
    watching = _watch(loop, fd, chunks)
    buffer = b""
    try:
        while True:
            chunk = await chunks.get()
            if not chunk:
                break
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                yield line.rstrip(b"\r").decode(errors="replace")
        if buffer:
            yield buffer.rstrip(b"\r").decode(errors="replace")
    finally:
        if watching:
            loop.remove_reader(fd)


def _read_chunk(fd: int) -> bytes | None:
    """What ``fd`` has (b"" at its end), or None when it has nothing after all."""
    try:
        return os.read(fd, _READ_SIZE)
    except BlockingIOError:
        return None
    except OSError:  # EIO: the terminal went away
        return b""


def _watch(loop: asyncio.AbstractEventLoop, fd: int, chunks: asyncio.Queue[bytes]) -> bool:
    """Feed ``chunks`` from ``fd`` (b"" at the end); True when the loop watches it."""

    def readable() -> None:
        chunk = _read_chunk(fd)
        if chunk is None:
            return
        if not chunk:
            loop.remove_reader(fd)
        chunks.put_nowait(chunk)

    try:
        loop.add_reader(fd, readable)
        return True
    except (NotImplementedError, OSError, ValueError):
        pass

    def thread() -> None:  # os.read holds no Python lock: safe in a daemon thread at exit
        for _ in range(1 << 40):  # bounded by the end of input, in practice
            chunk = _read_chunk(fd)
            if chunk is None:
                continue
            try:
                loop.call_soon_threadsafe(chunks.put_nowait, chunk)
            except RuntimeError:  # the loop is closed: the command is over
                return
            if not chunk:
                return

    threading.Thread(target=thread, name="omniws stdin", daemon=True).start()
    return False
