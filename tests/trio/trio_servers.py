"""Raw WebSocket peers written on trio, for what a real server will not do on cue: flood
the client, stay silent, answer late. They run in the test's nursery."""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable

import trio

from omniws.protocol.handshake import accept_key

Behaviour = Callable[[trio.SocketStream], Awaitable[None]]


def frame(payload: bytes, opcode: int = 0x1) -> bytes:
    """One unmasked final frame (server to client), payload under 64 KiB."""
    size = len(payload)
    if size < 126:
        return bytes((0x80 | opcode, size)) + payload
    return bytes((0x80 | opcode, 126)) + size.to_bytes(2, "big") + payload


async def read_request(stream: trio.SocketStream) -> bytes:
    request = b""
    while b"\r\n\r\n" not in request:
        data = await stream.receive_some(65536)
        if not data:
            raise ConnectionError("client left during the handshake")
        request += data
    return request


async def answer_upgrade(stream: trio.SocketStream) -> None:
    request = await read_request(stream)
    found = re.search(rb"(?i)sec-websocket-key:\s*(\S+)", request)
    key = found.group(1).decode() if found else ""
    await stream.send_all(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + accept_key(key).encode() + b"\r\n\r\n"
    )


async def read_frame(stream: trio.SocketStream, buffer: bytearray) -> tuple[int, bytes]:
    """The next client frame (masked): opcode and unmasked payload."""

    async def need(size: int) -> None:
        while len(buffer) < size:
            data = await stream.receive_some(65536)
            if not data:
                raise ConnectionError("client closed the connection")
            buffer.extend(data)

    await need(2)
    opcode, length = buffer[0] & 0x0F, buffer[1] & 0x7F
    start = 2
    if length == 126:
        await need(4)
        length, start = int.from_bytes(buffer[2:4], "big"), 4
    elif length == 127:
        await need(10)
        length, start = int.from_bytes(buffer[2:10], "big"), 10
    await need(start + 4 + length)
    mask = buffer[start : start + 4]
    payload = bytes(b ^ mask[i % 4] for i, b in enumerate(buffer[start + 4 : start + 4 + length]))
    del buffer[: start + 4 + length]
    return opcode, payload


async def start_server(nursery: trio.Nursery, behaviour: Behaviour, upgrade: bool = True) -> str:
    """Serve ``behaviour`` (after the 101 when ``upgrade``) on loopback; return the URL."""

    async def handler(stream: trio.SocketStream) -> None:
        try:
            if upgrade:
                await answer_upgrade(stream)
            await behaviour(stream)
        except (ConnectionError, trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        finally:
            await trio.aclose_forcefully(stream)

    serve = functools.partial(trio.serve_tcp, handler, 0, host="127.0.0.1")
    listeners = await nursery.start(serve)
    port = listeners[0].socket.getsockname()[1]
    return f"ws://127.0.0.1:{port}/"


async def echo_frames(stream: trio.SocketStream) -> None:
    """Echo every data frame; answer a close frame and stop."""
    buffer = bytearray()
    while True:
        opcode, payload = await read_frame(stream, buffer)
        await stream.send_all(frame(payload, opcode))
        if opcode == 0x8:
            return
