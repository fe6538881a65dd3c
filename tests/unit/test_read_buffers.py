"""Opening a connection makes glibc serve 256 KiB read buffers from its heap: otherwise
each read maps, remaps and unmaps fresh pages (measured: 2.3x the client CPU of an echo
round trip on the default asyncio loop). Checked in a fresh interpreter, by where a buffer
of that size lands: inside the ``[heap]`` mapping, or in a mapping of its own."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"

PROBE = """
import socket, sys
sys.path.insert(0, {src!r})

def heap():
    with open("/proc/self/maps") as maps:
        for line in maps:
            if line.rstrip().endswith("[heap]"):
                return tuple(int(x, 16) for x in line.split()[0].split("-"))
    return (0, 0)

left, right = socket.socketpair()

def read_lands_on_heap():
    left.send(b"0123456789")
    data = right.recv(256 * 1024)  # as transports read: 256 KiB, shrunk to what came
    low, high = heap()
    return low <= id(data) < high

from omniws.native import transport
before = [read_lands_on_heap() for _ in range(3)]
transport._prepare_reads()
print(any(before), all(read_lands_on_heap() for _ in range(3)))
"""

glibc = pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
    reason="the mmap threshold is glibc's",
)


@glibc
def test_read_buffers_come_from_the_heap_once_a_connection_was_opened() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(src=str(SRC))],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        timeout=60,
    ).stdout.split()
    assert out == ["False", "True"], out  # mapped apart before, from the heap after
