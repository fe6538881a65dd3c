"""The ``omniws`` command: talk to a WebSocket server from the terminal or a script.

``omniws URL`` sends each line of standard input as a text message and prints what
arrives; ``omniws demo`` does the same against an embedded echo server on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import stat
import sys
from collections.abc import Sequence

from . import __version__
from ._connect import Connection, connect
from ._demo_server import start_echo_server
from .config import WebSocketConfig
from .errors import ConnectionClosed, WebSocketError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="omniws",
        description="Send lines of input as WebSocket text messages and print what arrives. "
        "Use 'omniws demo' to try it against an embedded echo server.",
    )
    parser.add_argument("url", help="ws:// or wss:// URL, or 'demo' for the embedded echo server")
    parser.add_argument("-H", "--header", action="append", default=[], metavar="NAME:VALUE")
    parser.add_argument(
        "-p",
        "--protocol",
        action="append",
        default=[],
        metavar="NAME",
        help="offer this subprotocol (repeatable)",
    )
    parser.add_argument(
        "-s",
        "--send",
        action="append",
        default=[],
        metavar="TEXT",
        help="send TEXT instead of reading standard input (repeatable)",
    )
    parser.add_argument(
        "-n", "--count", type=int, metavar="N", help="exit after N messages were received"
    )
    parser.add_argument(
        "-t",
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="exit with status 3 when nothing arrives for this long",
    )
    parser.add_argument("--no-compression", action="store_true", help="do not offer deflate")
    parser.add_argument("--version", action="version", version=f"omniws {__version__}")
    return parser


def _config(args: argparse.Namespace, url: str) -> WebSocketConfig:
    headers = {}
    for item in args.header:
        name, colon, value = item.partition(":")
        if not colon:
            raise SystemExit(f"omniws: --header needs NAME:VALUE, got {item!r}")
        headers[name.strip()] = value.strip()
    return WebSocketConfig(
        url=url, headers=headers, protocols=args.protocol, compression=not args.no_compression
    )


async def _print_messages(ws: Connection, count: int | None, timeout: float | None) -> int:
    received = 0
    while count is None or received < count:
        try:
            message = await asyncio.wait_for(ws.recv(), timeout)
        except asyncio.TimeoutError:
            print(f"omniws: nothing received for {timeout:g} s", file=sys.stderr)
            return 3
        except ConnectionClosed as exc:
            print(f"* closed: {exc.code} {exc.reason}".rstrip(), flush=True)
            return 0 if exc.code in (1000, 1001, 1005) else 1
        received += 1
        text = message if isinstance(message, str) else f"[binary] {message.hex()}"
        print(f"< {text}", flush=True)
    return 0


async def _send_input(ws: Connection, lines: Sequence[str]) -> None:
    for line in lines:
        await ws.send(line)
    if lines:
        return
    mode = os.fstat(sys.stdin.fileno()).st_mode
    if not (sys.stdin.isatty() or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
        for line in sys.stdin.read().splitlines():  # a file or /dev/null: finite, read it whole
            await ws.send(line)
        return
    reader = asyncio.StreamReader()
    await asyncio.get_running_loop().connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), sys.stdin
    )
    while line_bytes := await reader.readline():
        await ws.send(line_bytes.decode(errors="replace").rstrip("\r\n"))


async def _run(args: argparse.Namespace) -> int:
    server = await start_echo_server() if args.url == "demo" else None
    url = server.url if server else args.url
    try:
        config = _config(args, url)
        print(f"* connecting to {url}", flush=True)
        async with connect(config=config) as ws:
            print(
                f"* connected{f' (subprotocol {ws.subprotocol})' if ws.subprotocol else ''}",
                flush=True,
            )
            reader = asyncio.ensure_future(_print_messages(ws, args.count, args.timeout))
            sender = asyncio.ensure_future(_send_input(ws, args.send))
            try:
                await asyncio.wait([reader, sender], return_when=asyncio.FIRST_COMPLETED)
                if not reader.done():
                    await sender  # raises if sending failed
                    if not (args.count or args.timeout):
                        await ws.close()  # end of input: replies already sent still arrive
                    status = await reader
                else:
                    status = reader.result()
            finally:
                sender.cancel()
                reader.cancel()
        return status
    finally:
        if server is not None:
            await server.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``omniws`` command; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        return asyncio.run(_run(args))
    except WebSocketError as exc:
        print(f"omniws: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
