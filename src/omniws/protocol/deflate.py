"""permessage-deflate (RFC 7692) negotiation for the client side, sans-I/O.

The handshake sends :func:`offer`'s value in ``Sec-WebSocket-Extensions``. When compression
is configured, the handshake passes every ``Sec-WebSocket-Extensions`` line of the server's
101 answer to :func:`accept`, which returns the negotiated
:class:`~omniws.protocol.deflate_codec.PerMessageDeflate` (the codec), or ``None`` when the
server declined compression (no extension in its answer). When compression is off we offer
nothing, and the handshake itself must reject any extension in the answer (RFC 6455 4.1);
:func:`accept` is only for the case where we did offer.

Both take :class:`DeflateParams`, plain values: protocol/ never imports the user-facing
configuration (``omniws.config.CompressionConfig``, which validates the same fields and
which the opening code converts).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from ..errors import ProtocolError
from .deflate_codec import PerMessageDeflate

__all__ = ["DeflateParams", "PerMessageDeflate", "accept", "offer", "parse_extensions"]

NAME: Final = "permessage-deflate"
_NEGOTIATION: Final = 1010  # close code for a failed extension negotiation
Params = list[tuple[str, str | None]]

_TCHARS = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_EXTENSION = re.compile(rf"[ \t]*({_TCHARS})")
_PARAM = re.compile(
    rf'[ \t]*;[ \t]*({_TCHARS})(?:[ \t]*=[ \t]*(?:({_TCHARS})|"((?:[^"\\]|\\[\t !-~])*)"))?'
)
_SEPARATOR = re.compile(r"[ \t]*(?:,|\Z)")
_QUOTED_PAIR = re.compile(r"\\(.)")
_WINDOW_BITS = re.compile(r"(?:8|9|1[0-5])\Z")  # decimal, no leading zeros (RFC 7692 7.1.2)


@dataclass(frozen=True)
class DeflateParams:
    """What we offer and how we compress: the fields of ``CompressionConfig``, as plain values.

    ``client_max_window_bits``/``server_max_window_bits``: 8 to 15, or None (not offered);
    ``level`` 0-9 and ``mem_level`` 1-9 are zlib's; messages shorter than ``threshold``
    bytes go out uncompressed. Validation happens in ``CompressionConfig``.
    """

    level: int = 6
    threshold: int = 128
    client_max_window_bits: int | None = 14  # CompressionConfig's defaults (memory, see there)
    server_max_window_bits: int | None = None
    client_no_context_takeover: bool = False
    server_no_context_takeover: bool = False
    mem_level: int = 5


def offer(config: DeflateParams) -> str:
    """The ``Sec-WebSocket-Extensions`` value that offers permessage-deflate with ``config``.

    ``client_max_window_bits`` is sent bare when the config allows 15 bits (the server may
    then pick any smaller window for us), with a value below 15, and not at all when the
    config sets it to None (for servers that choke on the parameter).
    """
    parts = [NAME]
    if config.server_no_context_takeover:
        parts.append("server_no_context_takeover")
    if config.client_no_context_takeover:
        parts.append("client_no_context_takeover")
    if config.server_max_window_bits is not None:
        parts.append(f"server_max_window_bits={config.server_max_window_bits}")
    bits = config.client_max_window_bits
    if bits is not None:
        parts.append("client_max_window_bits" if bits == 15 else f"client_max_window_bits={bits}")
    return "; ".join(parts)


def parse_extensions(header_values: list[str]) -> list[tuple[str, Params]]:
    """Parse ``Sec-WebSocket-Extensions`` lines (RFC 6455 9.1, RFC 7230 lists and quoting).

    Returns ``(name, [(param, value or None), ...])`` per extension, names lower-cased,
    quoted values unescaped; empty list elements are skipped. Raises ProtocolError (1002)
    on a syntax error.
    """
    result: list[tuple[str, Params]] = []
    for line in header_values:
        pos, end = 0, len(line)
        while pos < end:
            sep = _SEPARATOR.match(line, pos)
            if sep is not None:  # an empty list element
                pos = sep.end()
                continue
            ext = _EXTENSION.match(line, pos)
            if ext is None:
                raise _syntax(line, pos)
            params: Params = []
            pos = ext.end()
            while (param := _PARAM.match(line, pos)) is not None:
                name, token, quoted = param.groups()
                if quoted is not None:
                    token = _QUOTED_PAIR.sub(r"\1", quoted)
                params.append((name.lower(), token))
                pos = param.end()
            sep = _SEPARATOR.match(line, pos)
            if sep is None:
                raise _syntax(line, pos)
            result.append((ext.group(1).lower(), params))
            pos = sep.end()
    return result


def _syntax(line: str, pos: int) -> ProtocolError:
    return ProtocolError(
        f"malformed Sec-WebSocket-Extensions header {line!r} at character {pos}", close_code=1002
    )


def _refuse(problem: str) -> ProtocolError:
    return ProtocolError(
        f"server's permessage-deflate answer is invalid: {problem}", close_code=_NEGOTIATION
    )


def _window_bits(name: str, value: str | None) -> int:
    if value is None:
        raise _refuse(f"{name} needs a value from 8 to 15")
    if _WINDOW_BITS.match(value) is None:
        raise _refuse(f"{name}={value!r} is not a window size from 8 to 15")
    return int(value)


def accept(header_values: list[str], config: DeflateParams) -> PerMessageDeflate | None:
    """Check the server's answer to :func:`offer` and return the negotiated state.

    ``header_values``: every ``Sec-WebSocket-Extensions`` line of the 101 response. Returns
    None when the answer holds no extension (the server declined compression). Raises
    ProtocolError (close code 1010, 1002 for bad syntax) naming the problem: an extension we
    did not offer, permessage-deflate twice, an unknown, duplicate or malformed parameter, a
    value where none is allowed, a window outside 8..15, ``client_max_window_bits`` that we
    did not offer, ``server_max_window_bits`` above the one we asked for.

    Lenient where decoding stays correct: when the server leaves out
    ``server_no_context_takeover`` or ``server_max_window_bits`` that we asked for, we keep
    context and inflate with a 15-bit window (websockets refuses such answers instead).
    """
    extensions = parse_extensions(header_values)
    if not extensions:
        return None
    for name, _ in extensions:
        if name != NAME:
            raise _refuse(f"server accepted extension {name!r}, which we did not offer")
    if len(extensions) > 1:
        raise _refuse(f"{NAME} appears {len(extensions)} times; we offered it once")
    seen: set[str] = set()
    server_no_context = client_no_context = False
    server_bits = client_bits = 15
    for name, value in extensions[0][1]:
        if name in seen:
            raise _refuse(f"parameter {name} appears twice")
        seen.add(name)
        if name in ("server_no_context_takeover", "client_no_context_takeover"):
            if value is not None:
                raise _refuse(f"{name} takes no value, got {name}={value!r}")
            if name == "server_no_context_takeover":
                server_no_context = True
            else:
                client_no_context = True
        elif name == "server_max_window_bits":
            server_bits = _window_bits(name, value)
            asked = config.server_max_window_bits
            if asked is not None and server_bits > asked:
                raise _refuse(f"{name}={server_bits} is larger than the {asked} we asked for")
        elif name == "client_max_window_bits":
            if config.client_max_window_bits is None:
                raise _refuse(f"{name} answered, but we did not offer it")
            client_bits = _window_bits(name, value)
        else:
            raise _refuse(f"unknown parameter {name!r}")
    return PerMessageDeflate(
        client_no_context_takeover=client_no_context or config.client_no_context_takeover,
        server_no_context_takeover=server_no_context,
        client_max_window_bits=min(client_bits, config.client_max_window_bits or 15),
        server_max_window_bits=server_bits,
        level=config.level,
        mem_level=config.mem_level,
        threshold=config.threshold,
    )
