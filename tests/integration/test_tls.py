"""TLS: certificates are verified by default (chain and host name), and SNI is sent.

The servers are `websockets` servers in the test's loop, with trustme certificates (or a
self-signed one made here), so that the server side can record the SNI it saw.
"""

from __future__ import annotations

import asyncio
import datetime
import gc
import ipaddress
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from websockets.asyncio.server import ServerConnection, serve

import omniws
from omniws import ConnectionFailed

from .conftest import RawServerFactory
from .support import RawServer, recv


async def _echo(ws: ServerConnection) -> None:
    async for message in ws:
        await ws.send(message)


@asynccontextmanager
async def tls_server(ctx: ssl.SSLContext) -> AsyncIterator[int]:
    async with serve(_echo, "127.0.0.1", 0, ssl=ctx, compression=None) as server:
        yield next(iter(server.sockets)).getsockname()[1]


def server_context(ca: trustme.CA, *names: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert(*names).configure_cert(ctx)
    return ctx


async def test_certificate_for_another_host_is_refused(
    tls_ca: trustme.CA, client_ssl: ssl.SSLContext
) -> None:
    ctx = server_context(tls_ca, "other.example")  # valid chain, wrong name
    async with tls_server(ctx) as port:
        for host in ("127.0.0.1", "localhost"):
            with pytest.raises(ConnectionFailed) as info:
                await omniws.connect(f"wss://{host}:{port}/", ssl=client_ssl, connect_timeout=5)
            message = str(info.value)
            assert "mismatch" in message.lower() and host in message
            assert info.value.recoverable is False
        # the same server is fine for the name on its certificate... when the user says so
        lenient = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        tls_ca.configure_trust(lenient)
        lenient.check_hostname = False  # the user's decision, not ours
        async with omniws.connect(f"wss://127.0.0.1:{port}/", ssl=lenient) as ws:
            await ws.send("ok")
            assert await recv(ws) == "ok"


async def test_sni_carries_the_host_name(tls_ca: trustme.CA, client_ssl: ssl.SSLContext) -> None:
    seen: list[str | None] = []
    ctx = server_context(tls_ca, "localhost", "127.0.0.1")

    def sni(_sock: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
        seen.append(name)

    ctx.sni_callback = sni  # type: ignore[assignment,unused-ignore]
    async with tls_server(ctx) as port:
        async with omniws.connect(f"wss://localhost:{port}/", ssl=client_ssl) as ws:
            await ws.send("sni")
            assert await recv(ws) == "sni"
        async with omniws.connect(f"wss://127.0.0.1:{port}/", ssl=client_ssl):
            pass
    assert seen == ["localhost", None]  # no SNI for an IP address (RFC 6066 section 3)


def self_signed(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "omniws self-signed test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    certfile, keyfile = tmp / "self-signed.pem", tmp / "self-signed.key"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return certfile, keyfile


async def test_self_signed_certificate_error_names_the_fix(tmp_path: Path) -> None:
    certfile, keyfile = self_signed(tmp_path)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certfile, keyfile)
    async with tls_server(ctx) as port:
        url = f"wss://127.0.0.1:{port}/"
        with pytest.raises(ConnectionFailed) as info:
            await omniws.connect(url, connect_timeout=5)  # default: the system trust store
        message = str(info.value)
        assert "self-signed" in message or "self signed" in message
        assert "ssl=ssl.create_default_context(cafile=" in message
        assert info.value.recoverable is False
        # ... and the fix the message names works
        trusted = ssl.create_default_context(cafile=str(certfile))
        async with omniws.connect(url, ssl=trusted, connect_timeout=5) as ws:
            await ws.send("trusted now")
            assert await recv(ws) == "trusted now"


@pytest.mark.parametrize("make", [lambda ca: ssl.create_default_context(), lambda ca: None])
async def test_untrusted_ca_is_refused_by_default(
    tls_ca: trustme.CA, make: Callable[[trustme.CA], ssl.SSLContext | None]
) -> None:
    async with tls_server(server_context(tls_ca, "127.0.0.1")) as port:
        with pytest.raises(ConnectionFailed, match="certificate") as info:
            await omniws.connect(f"wss://127.0.0.1:{port}/", ssl=make(tls_ca), connect_timeout=5)
        assert info.value.recoverable is False


async def test_tls_to_a_plain_server_fails_cleanly(py_server: str) -> None:
    port = py_server.rsplit(":", 1)[1]
    with pytest.raises(ConnectionFailed):
        await omniws.connect(f"wss://127.0.0.1:{port}/echo", connect_timeout=5)


async def test_stalled_tls_handshake_is_named(raw_server: RawServerFactory) -> None:
    """A wss:// URL pointed at a server that never answers TLS: the stage, not the server."""
    silent = await raw_server(RawServer.silent)
    with pytest.raises(omniws.WebSocketTimeout) as info:
        await omniws.connect(f"wss://127.0.0.1:{silent.port}/", connect_timeout=0.5)
    message = str(info.value)
    assert f"stalled waiting for the TLS handshake with 127.0.0.1:{silent.port};" in message
    assert "does it speak TLS on this port (wss://)?" in message
    assert silent.requests and silent.requests[0].startswith(b"\x16\x03")  # a ClientHello


async def test_plain_server_behind_wss_fails_the_tls_handshake(
    raw_server: RawServerFactory,
) -> None:
    async def http_answer(_s: RawServer, reader: asyncio.StreamReader, writer: object) -> None:
        await reader.read(100)
        assert isinstance(writer, asyncio.StreamWriter)
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()

    server = await raw_server(http_answer)
    with pytest.raises(ConnectionFailed, match=f"TLS handshake with 127.0.0.1:{server.port}"):
        await omniws.connect(f"wss://127.0.0.1:{server.port}/", connect_timeout=5)


async def test_refused_certificate_leaves_no_unretrieved_error(
    tls_ca: trustme.CA, client_ssl: ssl.SSLContext
) -> None:
    """The opening's own future must not hold a second, never retrieved copy of the error."""
    seen: list[str] = []
    loop = asyncio.get_running_loop()
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: seen.append(context["message"]))
    try:
        async with tls_server(server_context(tls_ca, "other.example")) as port:
            for _ in range(3):
                with pytest.raises(ConnectionFailed, match="certificate"):
                    await omniws.connect(f"wss://localhost:{port}/", ssl=client_ssl)
                for _ in range(3):
                    await asyncio.sleep(0.01)
                gc.collect()
    finally:
        loop.set_exception_handler(previous)
    assert not [message for message in seen if "never retrieved" in message]
