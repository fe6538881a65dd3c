"""Fixtures of the integration tests: real servers on loopback, stopped in teardown.

- ``py_server``: the `websockets` server (servers/py_server.py), compression on.
- ``py_server_plain``: the same without permessage-deflate.
- ``py_server_v6``: the same on [::1].
- ``wss_server`` + ``client_ssl``: the same over TLS with a trustme certificate.
- ``node_server``: Node's `ws` (tests/node/server.js); fails, never skips, when
  ``tests/node/node_modules`` is missing.
- ``server_url``: parametrized over the Python and the Node server.
- ``raw_server``: a factory of in-process raw TCP servers (misbehaving peers).
"""

from __future__ import annotations

import shutil
import ssl
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
import trustme

from .support import (
    NODE_DIR,
    NODE_SERVER,
    PY_SERVER,
    Behaviour,
    RawServer,
    ServerProcess,
    base_url,
    free_port,
    ipv6_available,
)

RawServerFactory = Callable[..., Awaitable[RawServer]]


def _start_py_server(
    tmp: Path, name: str, host: str = "127.0.0.1", extra: tuple[str, ...] = ()
) -> ServerProcess:
    port = free_port(host)
    argv = [sys.executable, str(PY_SERVER), "--host", host, "--port", str(port), *extra]
    server = ServerProcess(name, argv, host, port, tmp / f"{name}.log")
    server.start()
    return server


@pytest.fixture(scope="session")
def py_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL (``ws://127.0.0.1:PORT``) of the `websockets` server, compression on."""
    server = _start_py_server(tmp_path_factory.mktemp("py_server"), "py_server")
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def py_server_plain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of the `websockets` server without permessage-deflate."""
    server = _start_py_server(
        tmp_path_factory.mktemp("py_server_plain"), "py_server_plain", extra=("--no-compression",)
    )
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def py_server_v6(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL (``ws://[::1]:PORT``) of the `websockets` server listening on ::1 only."""
    if not ipv6_available():
        pytest.skip("this machine has no IPv6 loopback (::1)")
    server = _start_py_server(tmp_path_factory.mktemp("py_server_v6"), "py_server_v6", host="::1")
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def tls_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def wss_server(tmp_path_factory: pytest.TempPathFactory, tls_ca: trustme.CA) -> Iterator[str]:
    """Base URL (``wss://127.0.0.1:PORT``) of the TLS server (cert: 127.0.0.1, localhost)."""
    tmp = tmp_path_factory.mktemp("wss_server")
    cert = tls_ca.issue_cert("127.0.0.1", "localhost")
    certfile = tmp / "server.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(certfile))
    server = _start_py_server(tmp, "wss_server", extra=("--certfile", str(certfile)))
    try:
        yield base_url("wss", server.host, server.port)
    finally:
        server.stop()


@pytest.fixture
def client_ssl(tls_ca: trustme.CA) -> ssl.SSLContext:
    """A client SSL context that trusts the test CA (and only it)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    tls_ca.configure_trust(ctx)
    return ctx


@pytest.fixture(scope="session")
def node_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of Node's `ws` server. Fails (never skips) when it cannot run."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js is required for the Node ws server tests: install node (v18+)")
    if not (NODE_DIR / "node_modules" / "ws").is_dir():
        pytest.fail(
            "tests/node/node_modules is missing: run `npm ci --prefix tests/node` "
            "to install the pinned ws package"
        )
    host = "127.0.0.1"
    port = free_port(host)
    tmp = tmp_path_factory.mktemp("node_server")
    server = ServerProcess(
        "node_server",
        [node, str(NODE_SERVER), "--host", host, "--port", str(port)],
        host,
        port,
        tmp / "node_server.log",
    )
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(
    params=[
        pytest.param("py", id="websockets"),
        pytest.param("node", id="node-ws", marks=pytest.mark.node),
    ]
)
def server_url(request: pytest.FixtureRequest) -> str:
    """Base URL of each real server in turn: `websockets`, then Node's `ws`."""
    name = "py_server" if request.param == "py" else "node_server"
    url: str = request.getfixturevalue(name)
    return url


@pytest.fixture
async def raw_server() -> AsyncIterator[RawServerFactory]:
    """Start raw TCP servers in the test's loop: ``await raw_server(behaviour)``."""
    started: list[RawServer] = []

    async def start(behaviour: Behaviour, host: str = "127.0.0.1") -> RawServer:
        server = await RawServer(behaviour).start(host)
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            await server.stop()
