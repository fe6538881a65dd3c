"""TCP and TLS for the opening phase: one opener for servers and proxies, and the stage
tracker that lets a connect timeout name what stalled.

:func:`open_tcp` connects, then runs TLS as its own step, so that :class:`Progress`
knows whether the TCP connection or the TLS handshake is the one that did not finish.
Errors name the peer (a proxy by its URL without the password) and the fix.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from typing import NamedTuple

from ..errors import ConnectionFailed, WebSocketTimeout
from . import transport as _transport

__all__ = ["Peer", "Progress", "open_tcp"]


class Peer(NamedTuple):
    """Where :func:`open_tcp` connects, and how its errors name it."""

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


async def open_tcp(
    protocol: asyncio.Protocol,
    peer: Peer,
    context: ssl.SSLContext | None,
    progress: Progress,
) -> asyncio.Transport:
    """Connect ``protocol`` to ``peer``, with TLS when ``context`` is given.

    ``protocol.connection_made`` is called with the TCP transport, and again with the TLS
    one. ConnectionFailed names the peer; a rejected certificate is not recoverable.
    """
    what = "the proxy" if peer.is_proxy else "the host"
    progress.enter(f"the TCP connection to {peer.name}", f"is {what} up and reachable?")
    try:
        transport = await _transport.create_connection(
            progress.transport, protocol, peer.host, peer.port, context is not None
        )
    except socket.gaierror as exc:
        kind = "proxy host" if peer.is_proxy else "host"
        raise ConnectionFailed(f"cannot resolve {kind} {peer.host!r}: {exc}") from exc
    except UnicodeError as exc:  # the IDNA encoding before the lookup
        kind = "proxy host" if peer.is_proxy else "host"
        raise ConnectionFailed(
            f"{kind} {peer.host!r} is not a valid host name ({exc}); check the URL",
            recoverable=False,
        ) from exc
    except OSError as exc:
        raise ConnectionFailed(f"cannot connect to {peer.name}: {exc.strerror or exc}") from exc
    if context is None:
        return transport
    return await start_tls(transport, protocol, peer, context, progress)


async def start_tls(
    transport: asyncio.Transport,
    protocol: asyncio.Protocol,
    peer: Peer,
    context: ssl.SSLContext,
    progress: Progress,
    via: str = "",
) -> asyncio.Transport:
    """TLS with ``peer`` over ``transport`` (aborted on failure); ``via`` names a tunnel."""
    hint = (
        "is it an https:// proxy? A plain HTTP proxy needs an http:// URL"
        if peer.is_proxy
        else "does it speak TLS on this port (wss://)? Use ws:// for a plain server"
    )
    progress.enter(f"the TLS handshake with {peer.name}{via}", hint)
    try:
        tls = await _transport.start_tls(
            progress.transport, transport, protocol, context, peer.host
        )
    except ssl.SSLCertVerificationError as exc:
        transport.abort()
        label = peer.name if peer.is_proxy else peer.host
        raise ConnectionFailed(
            f"TLS certificate of {label} was rejected ({exc.verify_message}); to trust a "
            f"private CA pass {peer.ssl_option}=ssl.create_default_context(cafile='ca.pem')",
            recoverable=False,
        ) from exc
    except (ssl.SSLError, OSError) as exc:
        transport.abort()
        raise ConnectionFailed(f"TLS handshake with {peer.name}{via} failed: {exc}") from exc
    except BaseException:  # cancelled (the connect timeout): leave no socket behind
        transport.abort()
        raise
    if tls is None:  # only when the loop is closing
        transport.abort()
        raise ConnectionFailed(f"TLS handshake with {peer.name}{via} was interrupted")
    protocol.connection_made(tls)
    return tls
