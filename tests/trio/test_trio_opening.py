"""Opening under trio: TLS, redirects, rejections, and errors and connect-timeout stages
that read exactly as on asyncio (the same peer is opened by both, and the errors compared)."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Iterator

import pytest
import trio
from conftest import open_ws
from trio_servers import read_request, start_server

import omniws
from omniws import ConnectionFailed, HandshakeRejected, WebSocketError, WebSocketTimeout


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts TCP connections (the kernel's backlog) and never answers."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server.getsockname()[1]


def both(url: str, **options: object) -> tuple[BaseException, BaseException]:
    """The error of opening ``url`` on asyncio (omniws.connect) and under trio."""

    async def on_asyncio() -> BaseException:
        try:
            await omniws.connect(url, **options)  # type: ignore[arg-type]
        except WebSocketError as exc:
            return exc
        raise AssertionError("asyncio opened it")

    async def on_trio() -> BaseException:
        try:
            await open_ws(url, **options)
        except WebSocketError as exc:
            return exc
        raise AssertionError("trio opened it")

    return asyncio.run(on_asyncio()), trio.run(on_trio)


def test_timeout_names_the_handshake_stage_as_asyncio(silent_port: int) -> None:
    native, ours = both(f"ws://127.0.0.1:{silent_port}/", connect_timeout=0.3)
    assert isinstance(ours, WebSocketTimeout) and isinstance(native, WebSocketTimeout)
    assert "the WebSocket handshake with ws://127.0.0.1" in str(ours)
    assert str(ours) == str(native)
    assert ours.recoverable


def test_timeout_names_the_tls_stage_as_asyncio(silent_port: int) -> None:
    native, ours = both(f"wss://127.0.0.1:{silent_port}/", connect_timeout=0.3)
    assert isinstance(ours, WebSocketTimeout)
    assert f"the TLS handshake with 127.0.0.1:{silent_port}" in str(ours)
    assert str(ours) == str(native)


def test_refused_and_unresolvable_as_asyncio() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]  # closed below: nothing listens there
    native, ours = both(f"ws://127.0.0.1:{port}/")
    assert type(ours) is ConnectionFailed and ours.recoverable == native.recoverable is True
    assert f"cannot connect to 127.0.0.1:{port}" in str(ours)
    assert "refused" in str(ours).lower()
    native, ours = both("ws://no-such-host.invalid/")
    assert type(ours) is ConnectionFailed
    assert (
        str(ours).split(":")[0]
        == str(native).split(":")[0]
        == ("cannot resolve host 'no-such-host.invalid'")
    )


def test_rejection_and_its_body_as_asyncio(py_server: str) -> None:
    native, ours = both(f"{py_server}/status/503")
    assert isinstance(ours, HandshakeRejected) and isinstance(native, HandshakeRejected)
    assert (ours.status, ours.body, ours.retry_after) == (native.status, native.body, 7)
    assert ours.body.startswith(b"rejected by test server: 503")
    assert ours.recoverable and str(ours) == str(native)


def test_tls_with_a_trusted_and_an_untrusted_certificate(
    wss_server: str, client_ssl: ssl.SSLContext
) -> None:
    async def main() -> None:
        async with await open_ws(f"{wss_server}/echo", ssl=client_ssl) as ws:
            await ws.send("over TLS")
            assert await ws.recv() == "over TLS"
            big = b"\x01" * 2_000_000
            await ws.send(big)
            assert await ws.recv() == big
        async with await open_ws(
            f"{wss_server.replace('127.0.0.1', 'localhost')}/echo", ssl=client_ssl
        ) as ws:
            assert ws.response_headers  # the name in the certificate matches

        baseline = trio.lowlevel.current_statistics().tasks_living
        ws = await open_ws(f"{wss_server}/echo", ssl=client_ssl)
        ws.send_nowait("x" * 100_000)
        ws.abort()
        assert ws.closed and (await ws.wait_closed()).code == 1006
        assert trio.lowlevel.current_statistics().tasks_living == baseline

    trio.run(main)
    native, ours = both(f"{wss_server}/echo")  # the system's trust store only
    assert type(ours) is ConnectionFailed and not ours.recoverable
    assert "certificate" in str(ours) and "ssl=ssl.create_default_context(" in str(ours)
    assert str(ours) == str(native)


def test_redirects_are_followed_within_max_redirects(py_server: str) -> None:
    async def main() -> None:
        async with trio.open_nursery() as nursery:

            async def redirect(stream: trio.SocketStream) -> None:
                await read_request(stream)
                await stream.send_all(
                    f"HTTP/1.1 302 Found\r\nLocation: {py_server}/echo\r\n"
                    "Content-Length: 4\r\n\r\nmove".encode()
                )

            url = await start_server(nursery, redirect, upgrade=False)
            async with await open_ws(url) as ws:
                assert ws.config.url == f"{py_server}/echo"
                await ws.send("redirected")
                assert await ws.recv() == "redirected"
            with pytest.raises(HandshakeRejected) as info:
                await open_ws(url, max_redirects=0)
            assert info.value.status == 302 and info.value.body == b"move"

            async def loop(stream: trio.SocketStream) -> None:
                await read_request(stream)
                await stream.send_all(f"HTTP/1.1 307 Again\r\nLocation: {here}\r\n\r\n".encode())

            here = await start_server(nursery, loop, upgrade=False)
            with pytest.raises(ConnectionFailed, match="redirect loop"):
                await open_ws(here)
            nursery.cancel_scope.cancel()

    trio.run(main)


def test_server_hanging_up_during_the_handshake() -> None:
    async def main() -> None:
        async with trio.open_nursery() as nursery:

            async def hang_up(stream: trio.SocketStream) -> None:
                await read_request(stream)

            url = await start_server(nursery, hang_up, upgrade=False)
            with pytest.raises(ConnectionFailed, match="during the opening handshake"):
                await open_ws(url)
            nursery.cancel_scope.cancel()

    trio.run(main)


def test_ipv6_without_a_connect_timeout(py_server_v6: str) -> None:
    async def main() -> None:
        async with await open_ws(f"{py_server_v6}/echo", connect_timeout=None) as ws:
            await ws.send("over ::1")
            assert await ws.recv() == "over ::1"
            assert ws.config.endpoint.host == "::1"

    trio.run(main)
