"""A `websockets` test server for the omniws integration tests, routed by path.

Run as a separate process: ``python py_server.py --host 127.0.0.1 --port 8765
[--no-compression] [--certfile F --keyfile F]``. It prints ``READY <port>`` once
listening and stops on SIGTERM or SIGINT.

Routes (the query string carries parameters):

- ``/echo``: echo text as text, binary as binary.
- ``/headers``: send a JSON object of the request headers (lower-case names), then echo.
- ``/subprotocol``: the first offered of ["chat", "superchat"] is selected; send its
  name ("" when none), then echo.
- ``/close?code=4001&reason=bye``: close with that code and reason.
- ``/send?size=N``: send one binary message of N bytes (``pattern(N)``), then echo.
- ``/fragmented``: send the text message "frag-one|frag-two|frag-three" as three
  fragments, then echo.
- ``/ping``: ping the client, wait up to 5 s for the pong, send "pong" or "no pong",
  then echo.
- ``/record?id=X``: echo, and remember how the connection closed under X.
- ``/report?id=X``: send a JSON object ``{"code": int|null, "reason": str}`` of the
  close recorded under X, or ``{}`` when none is recorded (yet), then close.
- ``/status/401``, ``/status/404``, ``/status/503``: reject the handshake with that
  status, a short text body, and ``Retry-After: 7`` on 503.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import ssl
import sys
from collections.abc import Sequence
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

SUBPROTOCOLS = ("chat", "superchat")
FRAGMENTS = ("frag-one|", "frag-two|", "frag-three")
REJECT_STATUSES = {401, 404, 503}
MAX_SIZE = 64 * 1024 * 1024

# id -> {"code": ..., "reason": ...}; bounded so that a long run cannot grow it forever.
_closes: dict[str, dict[str, object]] = {}
_MAX_RECORDS = 1000


def pattern(size: int) -> bytes:
    """The payload of ``/send?size=N``: a deterministic byte pattern the tests rebuild."""
    unit = bytes(range(256))
    return (unit * (size // 256 + 1))[:size]


def _query(connection: ServerConnection) -> tuple[str, dict[str, str]]:
    assert connection.request is not None
    parts = urlsplit(connection.request.path)
    params = {key: values[0] for key, values in parse_qs(parts.query).items()}
    return parts.path, params


def _headers_json(headers: Headers) -> str:
    result: dict[str, str] = {}
    for name, value in headers.raw_items():
        key = name.lower()
        result[key] = f"{result[key]}, {value}" if key in result else value
    return json.dumps(result)


async def _echo(ws: ServerConnection) -> None:
    async for message in ws:
        await ws.send(message)


async def handler(ws: ServerConnection) -> None:
    path, params = _query(ws)
    try:
        if path == "/echo":
            await _echo(ws)
        elif path == "/headers":
            assert ws.request is not None
            await ws.send(_headers_json(ws.request.headers))
            await _echo(ws)
        elif path == "/subprotocol":
            await ws.send(ws.subprotocol or "")
            await _echo(ws)
        elif path == "/close":
            await ws.close(int(params.get("code", "1000")), params.get("reason", ""))
        elif path == "/send":
            await ws.send(pattern(int(params.get("size", "0"))))
            await _echo(ws)
        elif path == "/fragmented":
            await ws.send(list(FRAGMENTS))
            await _echo(ws)
        elif path == "/ping":
            pong_waiter = await ws.ping(b"server-ping")
            try:
                await asyncio.wait_for(pong_waiter, 5)
            except asyncio.TimeoutError:
                await ws.send("no pong")
            else:
                await ws.send("pong")
            await _echo(ws)
        elif path == "/record":
            try:
                await _echo(ws)
            finally:
                if len(_closes) >= _MAX_RECORDS:
                    _closes.clear()
                _closes[params.get("id", "")] = {
                    "code": ws.close_code,
                    "reason": ws.close_reason or "",
                }
        elif path == "/report":
            await ws.send(json.dumps(_closes.get(params.get("id", ""), {})))
            await ws.close()
        else:
            await ws.close(4404, f"no route {path}")
    except ConnectionClosed:
        pass


def process_request(connection: ServerConnection, request: Request) -> Response | None:
    path = urlsplit(request.path).path
    if path.startswith("/status/"):
        try:
            status = int(path.removeprefix("/status/"))
        except ValueError:
            status = 400
        if status not in REJECT_STATUSES:
            status = 400
        phrase = HTTPStatus(status).phrase
        response = connection.respond(status, f"rejected by test server: {status} {phrase}\n")
        response.headers["X-Test-Server"] = "py"
        if status == 503:
            response.headers["Retry-After"] = "7"
        return response
    return None


def select_subprotocol(
    connection: ServerConnection, offered: Sequence[Subprotocol]
) -> Subprotocol | None:
    for name in offered:
        if name in SUBPROTOCOLS:
            return name
    return None


async def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--no-compression", action="store_true")
    parser.add_argument("--certfile")
    parser.add_argument("--keyfile")
    args = parser.parse_args(argv)

    ssl_context: ssl.SSLContext | None = None
    if args.certfile:
        ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ssl_context.load_cert_chain(args.certfile, args.keyfile)

    stop = asyncio.get_running_loop().create_future()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set_result, None)

    async with serve(
        handler,
        args.host,
        args.port,
        compression=None if args.no_compression else "deflate",
        process_request=process_request,
        select_subprotocol=select_subprotocol,
        max_size=MAX_SIZE,
        ping_interval=None,
        close_timeout=2,
        ssl=ssl_context,
    ) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        print(f"READY {port}", flush=True)
        await stop


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
