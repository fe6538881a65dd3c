"""What opening a connection means on every socket platform (asyncio's and trio's): the
stage tracker behind connect-timeout messages, the peers and how their errors read, the
upgrade request, and how much of a rejection's body to keep.

No I/O here: ``omniws.native`` and ``omniws.trio_io`` do the connecting and call these.
"""

from __future__ import annotations

import dataclasses
import socket
import ssl
from typing import NamedTuple

from ._proxy_env import select_proxy
from ._urls import ProxyURL
from .config import WebSocketConfig
from .errors import ConnectionFailed, WebSocketTimeout
from .protocol import deflate as _deflate
from .protocol.deflate import PerMessageDeflate
from .protocol.handshake import Response, build_request, new_key, validate_response

__all__ = [
    "MAX_ERROR_BODY",
    "Peer",
    "Progress",
    "Upgrade",
    "accept",
    "authority",
    "connect_error",
    "expected_body",
    "target",
    "tls_error",
    "tls_stage",
    "upgrade",
]

MAX_ERROR_BODY = 2048


def authority(host: str, port: int) -> str:
    """``host:port``, with an IPv6 host in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class Peer(NamedTuple):
    """Where TCP connects, and how its errors name it."""

    host: str
    port: int
    name: str  # "proxy http://user@host:3128" or "host:443", never with a password
    ssl_option: str  # the WebSocketConfig field that trusts its certificate
    is_proxy: bool = False


class Progress:
    """The stage an opening is in; a timeout names it (and what to check) in its error."""

    def __init__(self, transport: str = "auto") -> None:
        self.stage = "the start of the connection"
        self.hint = ""
        self.transport = transport  # WebSocketConfig.transport: who opens TCP and TLS

    def enter(self, stage: str, hint: str) -> None:
        """From now on the opening waits for ``stage``; ``hint`` says what to check if it
        never comes."""
        self.stage = stage
        self.hint = hint

    def timeout_error(self, timeout: float) -> WebSocketTimeout:
        """The error for ``connect_timeout`` running out during the current stage."""
        hint = f"{self.hint}; " if self.hint else ""
        return WebSocketTimeout(
            "connect",
            timeout,
            hint=f"stalled waiting for {self.stage}; {hint}raise connect_timeout for slow networks",
        )

    def enter_tcp(self, peer: Peer) -> None:
        """The TCP connection to ``peer`` starts."""
        what = "the proxy" if peer.is_proxy else "the host"
        self.enter(f"the TCP connection to {peer.name}", f"is {what} up and reachable?")


def target(config: WebSocketConfig) -> tuple[Peer, ssl.SSLContext | None, ProxyURL | None]:
    """Where an opening goes: the server, its TLS context (wss://) and the proxy, if any."""
    endpoint = config.endpoint
    context: ssl.SSLContext | None = None
    if endpoint.secure:
        context = config.ssl or ssl.create_default_context()
    peer = Peer(endpoint.host, endpoint.port, authority(endpoint.host, endpoint.port), "ssl")
    return peer, context, select_proxy(config, endpoint)


def connect_error(peer: Peer, exc: OSError | UnicodeError) -> ConnectionFailed:
    """The error for a TCP connection to ``peer`` that failed with ``exc``."""
    kind = "proxy host" if peer.is_proxy else "host"
    if isinstance(exc, socket.gaierror):
        return ConnectionFailed(f"cannot resolve {kind} {peer.host!r}: {exc}")
    if isinstance(exc, UnicodeError):  # the IDNA encoding before the lookup
        return ConnectionFailed(
            f"{kind} {peer.host!r} is not a valid host name ({exc}); check the URL",
            recoverable=False,
        )
    return ConnectionFailed(f"cannot connect to {peer.name}: {exc.strerror or exc}")


def tls_stage(progress: Progress, peer: Peer, via: str = "") -> None:
    """The TLS handshake with ``peer`` starts (``via``: the tunnel it runs through)."""
    hint = (
        "is it an https:// proxy? A plain HTTP proxy needs an http:// URL"
        if peer.is_proxy
        else "does it speak TLS on this port (wss://)? Use ws:// for a plain server"
    )
    progress.enter(f"the TLS handshake with {peer.name}{via}", hint)


def tls_error(peer: Peer, exc: BaseException, via: str = "") -> ConnectionFailed:
    """The error for a TLS handshake with ``peer`` that failed with ``exc``; a rejected
    certificate is not recoverable."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        label = peer.name if peer.is_proxy else peer.host
        return ConnectionFailed(
            f"TLS certificate of {label} was rejected ({exc.verify_message}); to trust a "
            f"private CA pass {peer.ssl_option}=ssl.create_default_context(cafile='ca.pem')",
            recoverable=False,
        )
    return ConnectionFailed(f"TLS handshake with {peer.name}{via} failed: {exc}")


class Upgrade(NamedTuple):
    """The upgrade request of one opening, and what checking its answer needs."""

    request: bytes
    key: str
    deflate: _deflate.DeflateParams | None


def upgrade(config: WebSocketConfig, progress: Progress, via: str = "") -> Upgrade:
    """The upgrade request for ``config``; enters the handshake stage of ``progress``."""
    endpoint = config.endpoint
    compression = config.deflate  # protocol/ takes plain values, not omniws.config
    params = _deflate.DeflateParams(**dataclasses.asdict(compression)) if compression else None
    key = new_key()
    request = build_request(
        endpoint.resource,
        endpoint.host_header,
        key,
        headers=config.headers,
        protocols=config.protocols,
        extensions=_deflate.offer(params) if params else None,
        origin=config.origin,
        user_agent=config.user_agent,
    )
    progress.enter(
        f"the WebSocket handshake with {config.url}{via}",
        "is the server up and is this a WebSocket endpoint?",
    )
    return Upgrade(request, key, params)


def accept(
    config: WebSocketConfig, sent: Upgrade, response: Response
) -> tuple[str | None, PerMessageDeflate | None]:
    """Check the server's answer to ``sent``: the subprotocol and the deflate it agreed to
    (HandshakeRejected for a status other than 101)."""
    subprotocol, extensions = validate_response(
        response, sent.key, config.protocols, sent.deflate is not None
    )
    deflate = _deflate.accept(extensions, sent.deflate) if extensions and sent.deflate else None
    return subprotocol, deflate


def expected_body(response: Response) -> int:
    """How much of a rejection's body to wait for: its Content-Length, at most 2 KiB."""
    length = response.headers.get("content-length", "0").strip()
    if length.isascii() and length.isdigit() and len(length) <= 18:
        return min(int(length), MAX_ERROR_BODY)
    return 0
