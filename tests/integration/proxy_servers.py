"""Proxies written for the tests: an HTTP CONNECT proxy (plain or TLS) and a SOCKS5 proxy.

Both run on asyncio streams, in the test's loop (``await HttpConnectProxy(...).start()``)
or as a separate process (``python proxy_servers.py http|socks5 --port N [--auth u:p]``,
prints ``READY <port>``, stops on SIGTERM). They record what each client asked for, can
require credentials, can be told to refuse, and map host names with ``names`` (so that a
name only the proxy can resolve proves remote DNS). Every loop is bounded; ``stop()``
cancels the connection tasks.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import ipaddress
import signal
import ssl
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeVar

_CHUNK = 65536


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, asyncio.CancelledError, ssl.SSLError):
        for _ in range(1_000_000):  # bounded; each read blocks until data or EOF
            data = await reader.read(_CHUNK)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    writer.close()


_S = TypeVar("_S", bound="StreamServer")


class StreamServer:
    """An asyncio stream server that tracks its connection tasks and stops them, bounded.

    Subclasses implement ``handle``; connection errors of a peer just end that connection.
    Shared by the proxies here and the redirect server of test_redirects.py.
    """

    host: str = "127.0.0.1"
    port: int = 0
    ssl_context: ssl.SSLContext | None = None
    connections: int = 0

    def __init__(self) -> None:
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self: _S, port: int = 0) -> _S:
        self._server = await asyncio.start_server(
            self._serve, self.host, port, ssl=self.ssl_context
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 5)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        try:
            await self.handle(reader, writer)
        except (
            ConnectionError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ssl.SSLError,
        ):
            pass
        finally:
            writer.close()
            self._tasks.discard(task)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError


@dataclass
class _ProxyBase(StreamServer):
    auth: tuple[str, str] | None = None
    names: Mapping[str, str] = field(default_factory=dict)
    refuse: int | None = None  # HTTP status, or SOCKS5 reply code, to answer instead
    ssl_context: ssl.SSLContext | None = None
    requests: list[dict[str, object]] = field(default_factory=list)
    connections: int = 0
    host: str = "127.0.0.1"
    port: int = 0

    def __post_init__(self) -> None:
        StreamServer.__init__(self)

    def url(self, scheme: str, user: str | None = None, password: str | None = None) -> str:
        userinfo = f"{user}:{password}@" if user is not None else ""
        return f"{scheme}://{userinfo}{self.host}:{self.port}"

    async def tunnel(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, port: int
    ) -> None:
        up_reader, up_writer = await asyncio.open_connection(self.names.get(host, host), port)
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))


class HttpConnectProxy(_ProxyBase):
    """``CONNECT host:port`` with optional Basic credentials (407 without them)."""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        request_line, *lines = head.split("\r\n")
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            if name:
                headers[name.strip().lower()] = value.strip()
        method, target, _ = request_line.split(" ", 2)
        self.requests.append({"method": method, "target": target, "headers": headers})
        if self.auth is not None:
            expected = base64.b64encode(":".join(self.auth).encode()).decode()
            if headers.get("proxy-authorization") != f"Basic {expected}":
                writer.write(
                    b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                    b'Proxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n'
                )
                await writer.drain()
                return
        if self.refuse is not None or method != "CONNECT":
            status = self.refuse or 405
            writer.write(f"HTTP/1.1 {status} Refused by test\r\nContent-Length: 0\r\n\r\n".encode())
            await writer.drain()
            return
        host, _, port = target.rpartition(":")
        try:
            up_reader, up_writer = await asyncio.open_connection(
                self.names.get(host.strip("[]"), host.strip("[]")), int(port)
            )
        except OSError:
            writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            return
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))


class Socks5Proxy(_ProxyBase):
    """RFC 1928 CONNECT with no authentication or RFC 1929 user name and password."""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        version, count = await reader.readexactly(2)
        methods = await reader.readexactly(count)
        record: dict[str, object] = {"version": version, "methods": list(methods)}
        self.requests.append(record)
        wanted = 0x02 if self.auth is not None else 0x00
        if wanted not in methods:
            writer.write(b"\x05\xff")
            await writer.drain()
            return
        writer.write(bytes((5, wanted)))
        if wanted == 0x02:
            _, size = await reader.readexactly(2)
            user = (await reader.readexactly(size)).decode()
            size = (await reader.readexactly(1))[0]
            password = (await reader.readexactly(size)).decode()
            record["user"] = user
            ok = (user, password) == self.auth
            writer.write(b"\x01\x00" if ok else b"\x01\x01")
            if not ok:
                await writer.drain()
                return
        _, command, _, address_type = await reader.readexactly(4)
        if address_type == 1:
            host = str(ipaddress.IPv4Address(await reader.readexactly(4)))
        elif address_type == 4:
            host = str(ipaddress.IPv6Address(await reader.readexactly(16)))
        else:
            host = (await reader.readexactly((await reader.readexactly(1))[0])).decode()
        (port,) = struct.unpack("!H", await reader.readexactly(2))
        record.update(command=command, address_type=address_type, host=host, port=port)
        reply = self.refuse or 0
        if not reply:
            try:
                up_reader, up_writer = await asyncio.open_connection(
                    self.names.get(host, host), port
                )
            except OSError:
                reply = 5
        writer.write(bytes((5, reply, 0, 1)) + b"\0\0\0\0\0\0")
        await writer.drain()
        if not reply:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))


async def _main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=("http", "socks5"))
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--auth", default=None, help="user:password")
    args = parser.parse_args()
    auth = tuple(args.auth.split(":", 1)) if args.auth else None
    cls = HttpConnectProxy if args.kind == "http" else Socks5Proxy
    proxy = await cls(auth=auth).start(args.port)  # type: ignore[arg-type,unused-ignore]
    print(f"READY {proxy.port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await proxy.stop()


if __name__ == "__main__":
    asyncio.run(_main())
