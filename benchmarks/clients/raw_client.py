"""The ceiling: an asyncio Protocol that sends pre-built masked frames and counts reply bytes.

No framing work at all (no parsing, no masking per message, no message objects): what the event
loop and the system calls cost per round trip. Echo only.
"""

from __future__ import annotations

import asyncio
import base64
import os
import time
from typing import Any, cast
from urllib.parse import urlsplit

from benchmarks.common import Meter, Params, check, payload
from benchmarks.tls import client_context


def _frame(data: bytes) -> bytes:
    key = os.urandom(4)
    n = len(data)
    if n < 126:
        head = bytes([0x82, 0x80 | n])
    elif n < 65536:
        head = bytes([0x82, 0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([0x82, 0x80 | 127]) + n.to_bytes(8, "big")
    masked = bytes(b ^ key[i & 3] for i, b in enumerate(data))
    return head + key + masked


def _reply_len(n: int) -> int:
    return n + (2 if n < 126 else 4 if n < 65536 else 10)


class RawEcho(asyncio.Protocol):
    def __init__(self, request: bytes) -> None:
        self.request = request
        self.buffer = b""
        self.handshake: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiter: asyncio.Future[None] | None = None
        self.transport: asyncio.Transport
        self.frame = b""
        self.expect = self.got = self.n = self.target = self.step = 0
        self.deadline = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        if not self.handshake.done():
            self.buffer += data
            if b"\r\n\r\n" in self.buffer:
                check(self.buffer.startswith(b"HTTP/1.1 101"), "raw handshake refused")
                self.handshake.set_result(None)
            return
        self.got += len(data)
        if self.got < self.expect:
            return
        self.got -= self.expect
        n = self.n = self.n + 1
        if n >= self.target or (n % self.step == 0 and time.perf_counter() > self.deadline):
            assert self.waiter is not None
            self.waiter.set_result(None)
        else:
            self.transport.write(self.frame)

    async def run(self, data: bytes, count: int, seconds: float, step: int) -> int:
        self.frame, self.expect, self.got = _frame(data), _reply_len(len(data)), 0
        self.n, self.target, self.step = 0, count, step
        self.deadline = time.perf_counter() + seconds
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(self.frame)
        await self.waiter
        return self.n


async def run(p: Params) -> dict[str, Any]:
    check(p.kind == "echo" and not p.compression, "the raw client only does plain echo")
    url = urlsplit(p.url)
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {url.path or '/'} HTTP/1.1\r\nHost: {url.netloc}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()
    loop = asyncio.get_running_loop()
    _, proto = await loop.create_connection(
        lambda: RawEcho(request), url.hostname or "127.0.0.1", url.port or 80, ssl=client_context(p)
    )
    await asyncio.wait_for(proto.handshake, 30)
    data = payload(p.size)
    if p.warmup:
        await proto.run(data, p.warmup, 60.0, 1)
    meter = Meter()
    n = await proto.run(data, p.count, p.seconds, p.step)
    result = meter.stop(n, n * p.size)
    proto.transport.close()
    return result
