"""The TCP row of ``benchmarks.anyio_overhead``: a 32-byte round trip over loopback to an echo
server in another process, through an asyncio Protocol and a Future (omniws' native way), an
anyio stream and a trio stream; and that echo server."""

from __future__ import annotations

import asyncio
import socket

import anyio
import trio

TCP_ADDR: list[tuple[str, int]] = [("127.0.0.1", 0)]  # the echo server's, set by the runner
MESSAGE = bytes(range(32))


def prepare_heap() -> None:
    """Free one 1 MiB block, as omniws' native transport does once (omniws.native.transport):
    until glibc has freed a mapped block that large, it maps every 256 KiB read buffer of an
    asyncio transport afresh (mmap and munmap per read), which would bill asyncio's and
    anyio's rows for the allocator instead of the loop. trio reads 64 KiB and never hit it."""
    block = bytes(1024 * 1024)
    del block


class _EchoProtocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.waiter: asyncio.Future[bytes] | None = None

    def data_received(self, data: bytes) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(data)


async def aio_tcp(n: int) -> None:
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_connection(_EchoProtocol, *TCP_ADDR[0])
    transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    write, create_future = transport.write, loop.create_future
    for _ in range(n):  # 32 B comes back in one segment on loopback
        proto.waiter = waiter = create_future()
        write(MESSAGE)
        await waiter
    transport.close()


async def anyio_tcp(n: int) -> None:
    async with await anyio.connect_tcp(*TCP_ADDR[0]) as stream:
        send, receive = stream.send, stream.receive
        for _ in range(n):
            await send(MESSAGE)
            await receive()


async def trio_tcp(n: int) -> None:
    stream = await trio.open_tcp_stream(*TCP_ADDR[0])
    async with stream:
        send, receive = stream.send_all, stream.receive_some
        for _ in range(n):
            await send(MESSAGE)
            await receive()


def serve_echo(port: int) -> None:
    """The echo server (its own process): a plain asyncio protocol, uvloop when installed."""

    class Echo(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.write = transport.write  # type: ignore[attr-defined]

        def data_received(self, data: bytes) -> None:
            self.write(data)

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(Echo, "127.0.0.1", port)
        print("READY", flush=True)
        await server.serve_forever()

    try:
        import uvloop

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())
