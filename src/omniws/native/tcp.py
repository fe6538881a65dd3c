"""TCP and TLS for the opening phase: one opener for servers and proxies.

:func:`open_tcp` connects, then runs TLS as its own step, so that the
:class:`~omniws._opening.Progress` knows whether the TCP connection or the TLS handshake
is the one that did not finish. Errors name the peer (a proxy by its URL without the
password) and the fix (:mod:`omniws._opening`, shared with trio).
"""

from __future__ import annotations

import asyncio
import ssl

from .._opening import Peer, Progress, connect_error, tls_error, tls_stage
from ..errors import ConnectionFailed
from . import transport as _transport

__all__ = ["Peer", "Progress", "open_tcp", "start_tls"]


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
    progress.enter_tcp(peer)
    try:
        transport = await _transport.create_connection(
            progress.transport, protocol, peer.host, peer.port, context is not None
        )
    except (OSError, UnicodeError) as exc:
        raise connect_error(peer, exc) from exc
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
    tls_stage(progress, peer, via)
    try:
        tls = await _transport.start_tls(
            progress.transport, transport, protocol, context, peer.host
        )
    except (ssl.SSLError, OSError) as exc:
        transport.abort()
        raise tls_error(peer, exc, via) from exc
    except BaseException:  # cancelled (the connect timeout): leave no socket behind
        transport.abort()
        raise
    if tls is None:  # only when the loop is closing
        transport.abort()
        raise ConnectionFailed(f"TLS handshake with {peer.name}{via} was interrupted")
    protocol.connection_made(tls)
    return tls
