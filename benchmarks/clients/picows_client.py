"""picows: WSListener callbacks, the next request sent straight from ``on_ws_frame``.

Each message is still turned into a Python object (``bytes`` for binary, ``str`` for text), as
every other client hands one to user code. ``Params.option`` picks the transport: "fastnet"
(picows' default when aiofastnet is installed) or "plain" (``use_aiofastnet=False``).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from benchmarks.common import MAX_SIZE, PUSH_DONE_TEXT, Meter, Params, check, open_many, payload
from benchmarks.tls import client_context

BINARY, TEXT = WSMsgType.BINARY, WSMsgType.TEXT


class Client(WSListener):
    def __init__(self) -> None:
        self.transport: WSTransport
        self.waiter: asyncio.Future[None] | None = None
        self.n = 0
        self.target = 0
        self.deadline = 0.0
        self.step = 1
        self.data = b""
        self.reply: Any = None
        self.batch = 0

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("disconnected"))

    def wait(self) -> asyncio.Future[None]:
        self.waiter = asyncio.get_running_loop().create_future()
        return self.waiter

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        self.control(transport, frame)

    def control(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type == WSMsgType.CLOSE:
            transport.disconnect()

    def finish(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)


class EchoClient(Client):
    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type != BINARY:
            return self.control(transport, frame)
        self.reply = frame.get_payload_as_bytes()
        n = self.n = self.n + 1
        if n >= self.target or (n % self.step == 0 and time.perf_counter() > self.deadline):
            self.finish()
        else:
            transport.send(BINARY, self.data)

    async def run(self, data: bytes, count: int, seconds: float, step: int) -> int:
        self.data, self.n, self.target, self.step = data, 0, count, step
        self.deadline = time.perf_counter() + seconds
        waiter = self.wait()
        self.transport.send(BINARY, data)
        await waiter
        return self.n


class PushClient(Client):
    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type != TEXT:
            return self.control(transport, frame)
        message = frame.get_payload_as_utf8_text()
        if message == PUSH_DONE_TEXT:
            if self.n < self.target and time.perf_counter() < self.deadline:
                transport.send(TEXT, b"push %d" % self.batch)
            else:
                self.finish()
        else:
            self.n += 1

    async def run(self, count: int, batch: int, seconds: float) -> int:
        self.n, self.target, self.batch = 0, count, batch
        self.deadline = time.perf_counter() + seconds
        waiter = self.wait()
        self.transport.send(TEXT, b"push %d" % batch)
        await waiter
        return self.n


async def _open(p: Params, factory: type[Client] = Client) -> Client:
    _, client = await ws_connect(
        factory,
        p.url,
        max_frame_size=MAX_SIZE,
        websocket_handshake_timeout=30,
        use_aiofastnet=p.option != "plain",
        ssl_context=client_context(p),
    )
    assert isinstance(client, Client)
    return client


async def _close(client: Client) -> None:
    client.transport.send_close(WSCloseCode.OK)
    await asyncio.wait_for(client.transport.wait_disconnected(), 30)


async def echo(p: Params) -> dict[str, Any]:
    check(not p.compression, "picows has no permessage-deflate")
    data = payload(p.size)
    client = await _open(p, EchoClient)
    assert isinstance(client, EchoClient)
    if p.warmup:
        await client.run(data, p.warmup, 60.0, 1)
    meter = Meter()
    n = await client.run(data, p.count, p.seconds, p.step)
    result = meter.stop(n, n * p.size)
    check(client.reply == data, "echo reply differs")
    await _close(client)
    return result


async def push(p: Params) -> dict[str, Any]:
    check(not p.compression, "picows has no permessage-deflate")
    client = await _open(p, PushClient)
    assert isinstance(client, PushClient)
    await client.run(1, p.warmup, 60.0)
    meter = Meter()
    n = await client.run(p.count, p.batch, p.seconds)
    result = meter.stop(n)
    check(n % p.batch == 0, "push lost messages")
    await _close(client)
    return result


async def many(p: Params) -> dict[str, Any]:
    return await open_many(p, lambda: _open(p), _close)


async def run(p: Params) -> dict[str, Any]:
    return await {"echo": echo, "push": push, "many": many}[p.kind](p)
