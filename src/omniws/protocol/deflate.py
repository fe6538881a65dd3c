"""permessage-deflate (RFC 7692) for the client side, sans-I/O.

The handshake sends :func:`offer`'s value in ``Sec-WebSocket-Extensions``. When compression
is configured, the handshake passes every ``Sec-WebSocket-Extensions`` line of the server's
101 answer to :func:`accept`, which returns the negotiated :class:`PerMessageDeflate`, or
``None`` when the server declined compression (no extension in its answer). When
compression is off we offer nothing, and the handshake itself must reject any extension in
the answer (RFC 6455 4.1); :func:`accept` is only for the case where we did offer.

:class:`PerMessageDeflate` compresses whole outbound messages and inflates inbound ones frame
by frame, enforcing the message size limit on the *inflated* size in bounded steps, so that a
bomb (deflate reaches about 1030:1: 1 MiB inflates to 1 GiB) never allocates past the limit.

Window bits of 8: zlib refuses ``wbits=-8`` for raw deflate (madler/zlib#171), so when the
server limits our window to 8 bits we compress with 9 (websockets refuses 8 instead). This still
honours the limit: zlib's deflate never emits a match distance above ``window size - 262``,
i.e. 250 bytes for a 512-byte window, which a 256-byte-window inflater decodes.
"""

from __future__ import annotations

import re
import sys
import zlib
from typing import Final, NoReturn

from ..config import CompressionConfig
from ..errors import MessageTooLarge, ProtocolError

__all__ = ["PerMessageDeflate", "accept", "offer", "parse_extensions"]

NAME: Final = "permessage-deflate"
_TAIL: Final = b"\x00\x00\xff\xff"  # the empty stored block that ends each message (RFC 7692 7.2.1)
_NO_LIMIT: Final = sys.maxsize - 1  # max_length for decompress() when there is no size limit
_NEGOTIATION: Final = 1010  # close code for a failed extension negotiation
_BAD_DATA: Final = 1007

BytesLike = bytes | bytearray | memoryview
Params = list[tuple[str, str | None]]

_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_EXTENSION = re.compile(rf"[ \t]*({_TOKEN})")
_PARAM = re.compile(
    rf'[ \t]*;[ \t]*({_TOKEN})(?:[ \t]*=[ \t]*(?:({_TOKEN})|"((?:[^"\\]|\\[\t !-~])*)"))?'
)
_SEPARATOR = re.compile(r"[ \t]*(?:,|\Z)")
_QUOTED_PAIR = re.compile(r"\\(.)")
_WINDOW_BITS = re.compile(r"(?:8|9|1[0-5])\Z")  # decimal, no leading zeros (RFC 7692 7.1.2)


def offer(config: CompressionConfig) -> str:
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


def accept(header_values: list[str], config: CompressionConfig) -> PerMessageDeflate | None:
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


class PerMessageDeflate:
    """The negotiated compression state of one connection (client side).

    ``compress`` turns one whole outbound message into the payload of a frame with RSV1 set;
    its output must be sent: with context takeover, dropping it would desynchronise the peer.
    ``decompress`` inflates one frame of an inbound compressed message at a time.
    """

    __slots__ = (
        "_compressor",
        "_decoder",
        "_flush",
        "_size",
        "client_max_window_bits",
        "client_no_context_takeover",
        "level",
        "mem_level",
        "server_max_window_bits",
        "server_no_context_takeover",
        "threshold",
    )

    def __init__(
        self,
        *,
        client_no_context_takeover: bool = False,
        server_no_context_takeover: bool = False,
        client_max_window_bits: int = 15,
        server_max_window_bits: int = 15,
        level: int = 6,
        mem_level: int = 8,
        threshold: int = 128,
    ) -> None:
        self.client_no_context_takeover = client_no_context_takeover
        self.server_no_context_takeover = server_no_context_takeover
        self.client_max_window_bits = client_max_window_bits
        self.server_max_window_bits = server_max_window_bits
        self.level = level
        self.mem_level = mem_level
        self.threshold = threshold  # messages shorter than this go out uncompressed
        # created on the first compressed message: zlib's state is about 256 KiB, and many
        # connections never send a message above the threshold
        self._compressor: zlib._Compress | None = None
        # Without context takeover a full flush ends each message: it empties the match
        # history like a new compressor would, at a tenth of the cost of creating one.
        self._flush = zlib.Z_FULL_FLUSH if client_no_context_takeover else zlib.Z_SYNC_FLUSH
        self._decoder: zlib._Decompress | None = None  # created lazily, per message if no takeover
        self._size = 0  # bytes inflated so far from the current inbound message

    def __repr__(self) -> str:
        return (
            f"PerMessageDeflate(client_no_context_takeover={self.client_no_context_takeover}, "
            f"server_no_context_takeover={self.server_no_context_takeover}, "
            f"client_max_window_bits={self.client_max_window_bits}, "
            f"server_max_window_bits={self.server_max_window_bits}, threshold={self.threshold})"
        )

    def compress(self, payload: BytesLike) -> bytes:
        """Compress one whole message; the trailing ``00 00 ff ff`` is removed (RFC 7692 7.2.1)."""
        compressor = self._compressor
        if compressor is None:
            # 8 -> 9: see the module docstring; zlib then keeps distances within 256 bytes.
            compressor = self._compressor = zlib.compressobj(
                self.level, zlib.DEFLATED, -max(self.client_max_window_bits, 9), self.mem_level
            )
        head = compressor.compress(payload)
        tail = compressor.flush(self._flush)  # always ends with 00 00 ff ff
        return head + tail[:-4] if head else tail[:-4]

    def decompress(self, data: BytesLike, final: bool, max_size: int | None) -> bytes:
        """Inflate one frame of a compressed message; ``final`` on its last frame.

        Raises MessageTooLarge as soon as the message's inflated size would pass
        ``max_size`` (None: no limit), never inflating more than one byte past it, and
        ProtocolError (1007) on invalid deflate data.
        """
        decoder = self._decoder
        if decoder is None:
            decoder = self._new_decoder()
        # room + 1 is never 0, which zlib would read as "no limit": room >= 0 between calls.
        room = _NO_LIMIT if max_size is None else max_size - self._size
        try:
            if not final:
                out = decoder.decompress(data, room + 1)
                if len(out) > room:
                    self._too_large(len(out), max_size)
                self._size += len(out)
                return out
            if len(data) < 2048:  # copying data + tail beats a second decompress() call
                out = decoder.decompress(
                    data + _TAIL if type(data) is bytes else b"".join((data, _TAIL)), room + 1
                )
                if len(out) > room:
                    self._too_large(len(out), max_size)
            else:  # large: feed the tail separately instead of copying the data
                out = decoder.decompress(data, room + 1)
                if len(out) > room:
                    self._too_large(len(out), max_size)
                more = decoder.decompress(_TAIL, room - len(out) + 1)
                if more:
                    out += more
                    if len(out) > room:
                        self._too_large(len(out), max_size)
        except zlib.error as exc:
            self._decoder = None
            self._size = 0
            raise ProtocolError(
                f"invalid compressed data in a message: {exc}", close_code=_BAD_DATA
            ) from None
        self._size = 0
        if decoder.eof:  # the server ended the message with a BFINAL block (RFC 7692 7.2.3.3)
            self._decoder = None  # the stream ended: the next message needs a new one
            if decoder.unused_data not in (b"", _TAIL):
                raise ProtocolError(
                    "data after the final deflate block of a message", close_code=_BAD_DATA
                )
        elif self.server_no_context_takeover:
            self._decoder = None
        return out

    def _new_decoder(self) -> zlib._Decompress:
        # 9 for 8, tolerating senders that rounded 8 up to 9 as we do (costs 256 bytes).
        decoder = self._decoder = zlib.decompressobj(-max(self.server_max_window_bits, 9))
        return decoder

    def _too_large(self, inflated: int, max_size: int | None) -> NoReturn:
        assert max_size is not None  # no output can pass _NO_LIMIT
        size = self._size + inflated  # at least max_size + 1: where inflating stopped
        self._decoder = None
        self._size = 0
        raise MessageTooLarge(size, max_size)
