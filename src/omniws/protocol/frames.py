"""RFC 6455 frames: encoding, masking and an incremental decoder (sans-I/O).

The decoder checks everything that can be checked on one frame (reserved bits, opcodes,
masking, control-frame rules, the size limit from the header before the payload is
buffered) and hands each complete frame to a callback as ``(first_byte, payload)``.

``py_mask``, ``py_encode_frame`` and ``PyFrameDecoder`` are the pure-Python reference.
``mask``, ``encode_frame`` and ``FrameDecoder`` are what omniws uses: the compiled versions
from ``_speedups.c`` when that extension is importable and ``OMNIWS_PURE_PYTHON`` is not set
(see ``_accel.py``), else the reference itself. ``implementation()`` says which.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..errors import MessageTooLarge, ProtocolError
from ._accel import implementation, speedups

__all__ = [
    "OP_BINARY",
    "OP_CLOSE",
    "OP_CONTINUATION",
    "OP_PING",
    "OP_PONG",
    "OP_TEXT",
    "FrameDecoder",
    "MaskingKeys",
    "PyFrameDecoder",
    "encode_frame",
    "implementation",
    "mask",
    "py_encode_frame",
    "py_mask",
]

OP_CONTINUATION = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA

FIN = 0x80
RSV1 = 0x40
_KNOWN_OPCODES = frozenset((OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG))
_pack_16 = struct.Struct("!BBH").pack
_pack_64 = struct.Struct("!BBQ").pack
_unpack_16 = struct.Struct("!H").unpack_from
_unpack_64 = struct.Struct("!Q").unpack_from

# XOR tables for bulk masking: _XOR[k] maps every byte b to b ^ k.
_XOR = [bytes(b ^ k for b in range(256)) for k in range(256)]
_BULK_MASK_THRESHOLD = 2048  # below it one big-integer XOR is faster than four translates


def py_mask(payload: bytes | bytearray | memoryview, key: bytes) -> bytes:
    """XOR ``payload`` with the 4-byte masking ``key`` (masking and unmasking are the same)."""
    size = len(payload)
    if size < _BULK_MASK_THRESHOLD:
        repeated = (key * ((size >> 2) + 1))[:size]
        value = int.from_bytes(payload, "little") ^ int.from_bytes(repeated, "little")
        return value.to_bytes(size, "little")
    out = bytearray(size)
    _mask_into(out, 0, payload, key)
    return bytes(out)


def _mask_into(
    out: bytearray, offset: int, payload: bytes | bytearray | memoryview, key: bytes
) -> None:
    data = payload if isinstance(payload, (bytes, bytearray)) else bytes(payload)
    for i in range(4):
        out[offset + i :: 4] = data[i::4].translate(_XOR[key[i]])


class MaskingKeys:
    """Masking keys from the OS's strong random source, drawn in batches of 1024."""

    __slots__ = ("_buffer", "_position")

    def __init__(self) -> None:
        self._buffer = b""
        self._position = 0

    def next(self) -> bytes:
        position = self._position
        if position >= len(self._buffer):
            self._buffer = os.urandom(4096)
            position = 0
        self._position = position + 4
        return self._buffer[position : position + 4]


def py_encode_frame(
    opcode: int,
    payload: bytes | bytearray | memoryview,
    key: bytes | None,
    *,
    fin: bool = True,
    rsv1: bool = False,
) -> bytes:
    """One frame as bytes; masked with ``key`` (clients always mask), unmasked when None."""
    size = len(payload)
    first = (FIN if fin else 0) | (RSV1 if rsv1 else 0) | opcode
    mask_bit = 0x80 if key is not None else 0
    if size < 126:
        header = bytes((first, mask_bit | size))
    elif size < 65536:
        header = _pack_16(first, mask_bit | 126, size)
    else:
        header = _pack_64(first, mask_bit | 127, size)
    if key is None:
        return header + payload
    if size < _BULK_MASK_THRESHOLD:
        return header + key + py_mask(payload, key)
    start = len(header) + 4
    out = bytearray(start + size)
    out[:start] = header + key
    _mask_into(out, start, payload, key)
    return bytes(out)


FrameCallback = Callable[[int, bytes], None]


class PyFrameDecoder:
    """Incremental decoder of server-to-client frames.

    ``feed(data)`` parses the complete frames in ``data`` (plus what was left over) and
    calls ``on_frame(first_byte, payload)`` for each. With ``frame_budget`` set, one call
    handles at most that many frames and returns True when it stopped with bytes left: call
    ``feed(b"")`` to go on (a flood of tiny frames then cannot hold the caller for long).
    ``max_payload`` bounds a data frame's
    length before its payload is buffered; the caller lowers it while a fragmented message
    grows. ``allow_rsv1`` is set when permessage-deflate was negotiated. ``expect_masked``
    flips the masking rule for the server role (used by the test and demo servers).
    """

    __slots__ = (
        "_chunks",
        "_have",
        "_need",
        "_rest",
        "_rest_at",
        "allow_rsv1",
        "expect_masked",
        "frame_budget",
        "max_payload",
        "on_frame",
    )

    def __init__(
        self,
        on_frame: FrameCallback,
        *,
        max_payload: int | None = None,
        allow_rsv1: bool = False,
        expect_masked: bool = False,
        frame_budget: int | None = None,
    ) -> None:
        self.on_frame = on_frame
        self.max_payload = max_payload
        self.allow_rsv1 = allow_rsv1
        self.expect_masked = expect_masked
        self.frame_budget = frame_budget
        self._chunks: list[bytes] = []
        self._have = 0
        self._need = 0
        self._rest: bytes | None = None  # the data a budgeted feed() stopped in
        self._rest_at = 0  # where it stopped

    @property
    def buffered(self) -> int:
        """Bytes received but not yet parsed into a frame."""
        if self._rest is not None:
            return len(self._rest) - self._rest_at
        return self._have

    def feed(self, data: bytes) -> bool:
        """Parse ``data``; raises ProtocolError (or MessageTooLarge) on a bad frame.

        Returns True when it stopped after ``frame_budget`` frames with bytes left over."""
        position = 0
        if self._rest is not None:
            rest, position, self._rest = self._rest, self._rest_at, None
            if data:
                data = rest[position:] + data
                position = 0
            else:
                data = rest
        elif self._chunks:
            self._chunks.append(data)
            self._have += len(data)
            if self._have < self._need:
                return False
            data = b"".join(self._chunks)
            self._chunks = []
            self._have = 0
        end = len(data)
        need = 0
        budget = self.frame_budget
        frames = 0
        on_frame = self.on_frame
        mask_bit = 0x80 if self.expect_masked else 0
        while end - position >= 2:
            first = data[position]
            second = data[position + 1]
            length = second & 0x7F
            start = position + 2
            if length >= 126:
                if length == 126:
                    if end - position < 4:
                        break
                    length = _unpack_16(data, start)[0]
                    start += 2
                else:
                    if end - position < 10:
                        break
                    length = _unpack_64(data, start)[0]
                    start += 8
                    if length >> 63:
                        self._check(first, second, length)
            masked = second & 0x80
            if masked:
                start += 4
            if (
                first & 0x70
                or masked != mask_bit
                or first & 0x0F not in (OP_TEXT, OP_BINARY)
                or (self.max_payload is not None and length > self.max_payload)
            ):
                self._check(first, second, length)
            stop = start + length
            if stop > end:
                need = stop - position
                break
            payload = data[start:stop]
            if masked:
                payload = py_mask(payload, data[start - 4 : start])
            position = stop
            on_frame(first, payload)
            frames += 1
            if frames == budget and position < end:
                self._rest, self._rest_at = data, position
                return True
        if position < end:
            rest = data[position:] if position else data
            self._chunks = [rest]
            self._have = len(rest)
            self._need = need if need > self._have else self._have + 1
        return False

    def _check(self, first: int, second: int, length: int) -> None:
        """The slow path: explain exactly what is wrong with an unusual frame header."""
        opcode = first & 0x0F
        if opcode not in _KNOWN_OPCODES:
            raise ProtocolError(f"server sent a frame with reserved opcode {opcode:#x}")
        if first & 0x30 or (first & RSV1 and not self.allow_rsv1):
            raise ProtocolError(
                f"server set reserved bits {first & 0x70:#04x} without a negotiated extension"
            )
        if bool(second & 0x80) != self.expect_masked:
            side = "client" if self.expect_masked else "server"
            rule = "must be masked" if self.expect_masked else "must not be masked"
            raise ProtocolError(f"frames from the {side} {rule} (RFC 6455 5.1)")
        if length >> 63:
            raise ProtocolError("frame length has the most significant bit set")
        if opcode & 0x08:
            if not first & FIN:
                raise ProtocolError(f"control frame {opcode:#x} is fragmented")
            if length > 125:
                raise ProtocolError(
                    f"control frame {opcode:#x} has a {length}-byte payload (max 125)"
                )
            if first & RSV1:
                raise ProtocolError("control frame has RSV1 set")
        elif self.max_payload is not None and length > self.max_payload:
            limit = self.max_payload
            # a compressed frame may run slightly larger than its inflated content
            if not (first & RSV1 and length <= limit + (limit >> 3) + 1024):
                raise MessageTooLarge(length, limit)


_compiled = speedups()
if TYPE_CHECKING or _compiled is None:
    mask = py_mask
    encode_frame = py_encode_frame
    FrameDecoder = PyFrameDecoder
else:
    mask = _compiled.mask
    encode_frame = _compiled.encode_frame

    class FrameDecoder(_compiled.FrameDecoder):
        __doc__ = PyFrameDecoder.__doc__
        __slots__ = ()
        _check = PyFrameDecoder._check  # the error path is the reference's, message for message
