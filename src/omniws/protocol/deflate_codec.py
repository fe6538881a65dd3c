"""permessage-deflate (RFC 7692): the per-message codec of one connection, sans-I/O.

:class:`PerMessageDeflate` is what :func:`omniws.protocol.deflate.accept` returns. It
compresses whole outbound messages and inflates inbound ones frame by frame, enforcing the
message size limit on the *inflated* size in bounded steps, so that a bomb (deflate reaches
about 1030:1: 1 MiB inflates to 1 GiB) never allocates past the limit.

Window bits of 8: zlib refuses ``wbits=-8`` for raw deflate (madler/zlib#171), so when the
server limits our window to 8 bits we compress with 9 (websockets refuses 8 instead). This still
honours the limit: zlib's deflate never emits a match distance above ``window size - 262``,
i.e. 250 bytes for a 512-byte window, which a 256-byte-window inflater decodes.
"""

from __future__ import annotations

import sys
import zlib
from typing import Final, NoReturn

from ..errors import MessageTooLarge, ProtocolError

__all__ = ["BytesLike", "PerMessageDeflate"]

_TAIL: Final = b"\x00\x00\xff\xff"  # the empty stored block that ends each message (RFC 7692 7.2.1)
_NO_LIMIT: Final = sys.maxsize - 1  # max_length for decompress() when there is no size limit
_BAD_DATA: Final = 1007

BytesLike = bytes | bytearray | memoryview


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
        assert max_size is not None  # noqa: S101 narrows the type: no output can pass _NO_LIMIT
        size = self._size + inflated  # at least max_size + 1: where inflating stopped
        self._decoder = None
        self._size = 0
        raise MessageTooLarge(size, max_size)
