"""A hostile WebSocket server for test_hostile.py, run as its own process (so that the
client's memory can be measured apart from the server's).

``python hostile_server.py --port N`` prints ``READY <port>`` and serves, by request path:

- ``/drip``: the 101 answer one byte every 50 ms (never done within a short timeout);
- ``/endless-head``: a 101 status line, then header lines without end;
- ``/many-headers``: a complete 101 head with 1000 headers;
- ``/huge-body``: a 403 with ``Content-Length: 1000000000`` and a body without end;
- ``/ping-flood?read=0|1``: after the upgrade, pings as fast as the client takes them, for
  at most 5 s; reads the client's pongs only with ``read=1``;
- ``/tiny-flood``: after the upgrade, empty text frames as fast as the client takes them;
- ``/never-read``: the upgrade, then never reads again (the client's writes pile up);
- ``/ignore-close``: reads and ignores every frame, the close frame included;
- ``/close-no-fin``: sends a close frame, then keeps the TCP connection open.

Every connection ends after at most 30 s. Stops on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import signal
import time

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_CONNECTION_SECONDS = 30.0


def _upgrade(key: str) -> bytes:
    accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
    return (
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Accept: {accept}\r\n\r\n"
    ).encode()


async def _flood(writer: asyncio.StreamWriter, chunk: bytes, seconds: float) -> None:
    end = time.monotonic() + seconds
    for _ in range(10_000_000):  # bounded by count and by time
        if time.monotonic() > end:
            break
        writer.write(chunk)
        await writer.drain()


async def _discard(reader: asyncio.StreamReader) -> None:
    for _ in range(10_000_000):
        if not await reader.read(65536):
            break


async def _noop() -> None:
    return None


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    request = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    path = request.split(" ", 2)[1]
    key = ""
    for line in request.split("\r\n"):
        name, _, value = line.partition(":")
        if name.lower() == "sec-websocket-key":
            key = value.strip()
    if path == "/drip":
        for byte in _upgrade(key):
            writer.write(bytes((byte,)))
            await writer.drain()
            await asyncio.sleep(0.05)
    elif path == "/endless-head":
        writer.write(b"HTTP/1.1 101 Switching Protocols\r\n")
        await _flood(writer, b"X-Filler: " + b"a" * 1000 + b"\r\n", 10)
    elif path == "/many-headers":
        head = _upgrade(key)[:-2] + b"".join(b"X-H%d: v\r\n" % i for i in range(1000))
        writer.write(head + b"\r\n")
    elif path == "/huge-body":
        writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 1000000000\r\n\r\n")
        await _flood(writer, b"b" * 65536, 10)
    elif path.startswith("/ping-flood"):
        writer.write(_upgrade(key))
        reading = asyncio.ensure_future(_discard(reader) if path.endswith("read=1") else _noop())
        await _flood(writer, b"\x89\x00" * 8192, 5)
        reading.cancel()
    elif path == "/tiny-flood":
        writer.write(_upgrade(key))
        await _flood(writer, b"\x81\x00" * 8192, 5)
    elif path in ("/never-read", "/close-no-fin"):
        writer.write(_upgrade(key))
        if path == "/close-no-fin":
            writer.write(b"\x88\x02\x03\xe8")
        await writer.drain()
        await asyncio.sleep(MAX_CONNECTION_SECONDS)
    elif path == "/ignore-close":
        writer.write(_upgrade(key))
        await _discard(reader)
    await writer.drain()
    await asyncio.sleep(MAX_CONNECTION_SECONDS)  # hang on; the client decides when to go


async def _guarded(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(_serve(reader, writer), MAX_CONNECTION_SECONDS)
    writer.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = await asyncio.start_server(_guarded, args.host, args.port)
    print(f"READY {server.sockets[0].getsockname()[1]}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
