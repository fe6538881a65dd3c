"""The one benchmark server, run in its own process: ``python -m benchmarks.server``.

Modes:
- ``picows`` (default): a picows server on uvloop, compression off. Echoes every data frame
  (same opcode, same FIN, so fragmented messages come back fragmented) and answers the text
  message ``push N`` with N 64-byte JSON-like text messages sent as fast as the transport
  accepts them (respecting ``pause_writing``), then the text message ``done``.
- ``deflate``: the same protocol served by ``websockets`` with permessage-deflate negotiated,
  for a ``--compression`` run (picows has no compression).

It prints ``PORT <n>`` on stdout once listening and runs until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import signal
import sys
from typing import Any

from benchmarks.tls import server_context

PUSH_MESSAGE = b'{"e":"trade","s":"BTCUSDT","p":"64123.10","q":"0.0150","T":1700000}'[:64]
assert len(PUSH_MESSAGE) == 64
PUSH_DONE = b"done"
PUSH_PREFIX = b"push "
PUSH_BATCH = 512  # messages written per event-loop turn before checking flow control
PUSH_FRAME = bytes([0x81, len(PUSH_MESSAGE)]) + PUSH_MESSAGE  # FIN + text, unmasked, 64 B
PUSH_CHUNK = PUSH_FRAME * PUSH_BATCH
MAX_SIZE = 64 * 1024 * 1024


def _raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))


async def _serve_picows(port: int, stop: asyncio.Event, tls_dir: str | None) -> None:
    from picows import (
        WSFrame,
        WSListener,
        WSMsgType,
        WSTransport,
        WSUpgradeRequest,
        ws_create_server,
    )

    class Handler(WSListener):
        def __init__(self) -> None:
            self.transport: WSTransport | None = None
            self.paused = False
            self.remaining = 0

        def on_ws_connected(self, transport: WSTransport) -> None:
            self.transport = transport

        def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
            mt = frame.msg_type
            if mt == WSMsgType.CLOSE:
                transport.send_close(frame.get_close_code(), frame.get_close_message())
                transport.disconnect()
                return
            if mt == WSMsgType.PING:
                return  # auto pong is on
            if mt == WSMsgType.TEXT and frame.fin:
                payload = frame.get_payload_as_bytes()
                if payload.startswith(PUSH_PREFIX):
                    self.remaining = int(payload[len(PUSH_PREFIX) :])
                    self._push()
                    return
                transport.send(mt, payload, frame.fin)
                return
            transport.send(mt, frame.get_payload_as_memoryview(), frame.fin)

        def _push(self) -> None:
            # Pre-encoded frames written PUSH_BATCH at a time straight to the TCP transport: the
            # server stays far ahead of every client, which then reads large chunks, so the
            # figure is the client's per-message cost, not the server's pace.
            transport = self.transport
            if transport is None or transport.is_disconnected:
                return
            write = transport.underlying_transport.write
            while self.remaining > 0 and not self.paused:
                n = min(self.remaining, PUSH_BATCH)
                write(PUSH_CHUNK if n == PUSH_BATCH else PUSH_FRAME * n)
                self.remaining -= n
                if self.remaining > 0 and not self.paused:
                    # let the loop breathe (other connections, incoming close) between batches
                    asyncio.get_running_loop().call_soon(self._push)
                    return
            if self.remaining == 0:
                self.remaining = -1
                transport.send(WSMsgType.TEXT, PUSH_DONE)

        def pause_writing(self) -> None:
            self.paused = True

        def resume_writing(self) -> None:
            self.paused = False
            if self.remaining > 0:
                self._push()

    def factory(request: WSUpgradeRequest) -> Handler:
        return Handler()

    server = await ws_create_server(
        factory,
        "127.0.0.1",
        port,
        max_frame_size=MAX_SIZE,
        backlog=4096,
        websocket_handshake_timeout=30,
        use_aiofastnet=False,
        ssl=server_context(tls_dir) if tls_dir else None,
    )
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    await stop.wait()
    server.close()


async def _serve_deflate(port: int, stop: asyncio.Event, tls_dir: str | None) -> None:
    from websockets.asyncio.server import ServerConnection, serve

    push_text = PUSH_MESSAGE.decode()

    async def handler(ws: ServerConnection) -> None:
        async for message in ws:
            if isinstance(message, str) and message.startswith("push "):
                for _ in range(int(message[5:])):
                    await ws.send(push_text)
                await ws.send("done")
            else:
                await ws.send(message)

    async with serve(
        handler,
        "127.0.0.1",
        port,
        compression="deflate",
        max_size=MAX_SIZE,
        ping_interval=None,
        backlog=4096,
        ssl=server_context(tls_dir) if tls_dir else None,
    ) as server:
        sock = next(iter(server.sockets))
        print(f"PORT {sock.getsockname()[1]}", flush=True)
        await stop.wait()


async def _main(mode: str, port: int, tls_dir: str | None) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if mode == "picows":
        await _serve_picows(port, stop, tls_dir)
    else:
        await _serve_deflate(port, stop, tls_dir)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mode", choices=["picows", "deflate"], default="picows")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    parser.add_argument("--tls", metavar="DIR", help="wss://: cert.pem and key.pem in DIR")
    args = parser.parse_args(argv)
    _raise_nofile()
    if args.loop == "uvloop":
        import uvloop

        runner: Any = uvloop.run
    else:
        runner = asyncio.run
    with contextlib.suppress(KeyboardInterrupt):
        runner(_main(args.mode, args.port, args.tls))
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
