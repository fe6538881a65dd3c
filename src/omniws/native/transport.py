"""Which code opens TCP and TLS: asyncio's own, or aiofastnet's (the optional ``fast`` extra).

aiofastnet (``pip install 'omniws[fast]'``) provides drop-in ``create_connection`` and
``start_tls`` written in C for the stock asyncio loop and uvloop. ``"auto"`` uses it for
TLS connections when it is importable: there it cut the client CPU per message by a quarter
to a third on the default asyncio loop (about even on uvloop), while on plain TCP it measured
no cheaper than asyncio's or uvloop's own transport (docs/BENCHMARKS.md). ``"fast"`` uses
it for both and requires it; ``"asyncio"`` (or the environment variable
``OMNIWS_TRANSPORT=asyncio``) keeps the standard library's. The environment variable applies
to every connection whose config says ``"auto"``.
"""

from __future__ import annotations

import asyncio
import os
import ssl
from collections.abc import Callable
from types import ModuleType
from typing import Any

from ..errors import ConfigError

__all__ = ["ENV_VAR", "TRANSPORTS", "active_transport", "create_connection", "start_tls"]

ENV_VAR = "OMNIWS_TRANSPORT"
TRANSPORTS = ("auto", "asyncio", "fast")
_INSTALL = "install it with: pip install 'omniws[fast]'"


def _load_fastnet() -> ModuleType | None:
    try:
        import aiofastnet
    except ImportError:
        return None
    return aiofastnet


_FASTNET = _load_fastnet()
_RAISE_TO = 1024 * 1024  # above the 256 KiB that both transports read into per read
_reads_prepared = False


def _prepare_reads() -> None:
    """Free one mapped 1 MiB block, once: glibc then serves blocks up to that size (every
    256 KiB read buffer) from its heap. Until a mapped block that large is freed, it maps
    each read buffer afresh whenever the heap has no room (mmap, mremap, munmap and page
    faults on every read: 2.3x the CPU of an echo round trip, measured). 1 MiB, because a
    smaller block may come from the heap's free space and then raises nothing. Elsewhere
    this costs one allocation and changes nothing."""
    global _reads_prepared
    if not _reads_prepared:
        _reads_prepared = True
        block = bytes(_RAISE_TO)
        del block


def _environment() -> str:
    value = os.environ.get(ENV_VAR, "").strip().lower() or "auto"
    if value not in TRANSPORTS:
        raise ConfigError(
            ENV_VAR,
            f"must be one of {', '.join(TRANSPORTS)} (environment variable), got {value!r}",
        )
    return value


def active_transport(setting: str = "auto", tls: bool = True) -> str:
    """``"fast"`` or ``"asyncio"``: what a connection whose config says ``setting`` uses for
    TLS (``tls``) or for plain TCP.

    ``setting`` other than ``"auto"`` wins over ``OMNIWS_TRANSPORT``. Asking for ``"fast"``
    without aiofastnet installed raises :class:`~omniws.ConfigError` saying how to install it.
    """
    choice = setting if setting != "auto" else _environment()
    if choice == "fast":
        if _FASTNET is None:
            source = "transport='fast'" if setting == "fast" else f"{ENV_VAR}=fast"
            raise ConfigError("transport", f"{source} needs aiofastnet; {_INSTALL}")
        return "fast"
    if choice == "asyncio" or _FASTNET is None or not tls:
        return "asyncio"
    return "fast"


async def create_connection(
    setting: str, protocol: asyncio.BaseProtocol, host: str, port: int, tls: bool
) -> asyncio.Transport:
    """A TCP connection to ``host:port`` for ``protocol``, through the chosen transport;
    ``tls``: TLS will run over it (so that TCP and TLS come from the same code)."""
    _prepare_reads()
    loop = asyncio.get_running_loop()
    factory: Callable[[], asyncio.BaseProtocol] = lambda: protocol  # noqa: E731
    result: tuple[Any, Any]
    if active_transport(setting, tls) == "fast" and _FASTNET is not None:
        result = await _FASTNET.create_connection(loop, factory, host, port)
    else:
        result = await loop.create_connection(factory, host, port)
    transport: asyncio.Transport = result[0]
    return transport


async def start_tls(
    setting: str,
    transport: asyncio.Transport,
    protocol: asyncio.BaseProtocol,
    context: ssl.SSLContext,
    server_hostname: str,
) -> asyncio.Transport | None:
    """TLS over ``transport``, through the chosen transport; None when the loop is closing.

    aiofastnet's TLS runs over any transport (asyncio's too, as after a proxy's CONNECT).
    """
    loop = asyncio.get_running_loop()
    if active_transport(setting) == "fast" and _FASTNET is not None:
        tls: asyncio.Transport = await _FASTNET.start_tls(
            loop, transport, protocol, context, server_hostname=server_hostname
        )
        return tls
    return await loop.start_tls(transport, protocol, context, server_hostname=server_hostname)
