"""Opening a connection makes glibc serve 256 KiB read buffers from its heap: otherwise
each read maps, remaps and unmaps fresh pages (measured: 2.3x the client CPU of an echo
round trip on the default asyncio loop). Checked in a fresh interpreter, by where blocks
of that size land once the heap's free space is used up: inside the ``[heap]`` mapping, or
each in a mapping of its own."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"

PROBE = """
import ctypes, sys
sys.path.insert(0, {src!r})
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]

def heap():
    with open("/proc/self/maps") as maps:
        for line in maps:
            if line.rstrip().endswith("[heap]"):
                return tuple(int(x, 16) for x in line.split()[0].split("-"))
    return (0, 0)

def blocks_on_heap(n=64):
    # held, never freed (freeing a mapped block would itself raise the threshold); 64 of
    # them outgrow whatever free space the heap had, so the threshold decides the rest
    blocks = [libc.malloc(256 * 1024) for _ in range(n)]
    low, high = heap()
    return sum(low <= b < high for b in blocks)

before = blocks_on_heap()
from omniws.native import transport
transport._prepare_reads()
after = blocks_on_heap()
print(before < 60, after == 64)
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
    assert out == ["True", "True"], out  # mapped apart before, from the heap after
