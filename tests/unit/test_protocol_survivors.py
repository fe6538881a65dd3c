"""Tests that kill deliberate bugs which the rest of the unit suite let through (issue 11).

Each test names the bug it catches. They go through the public protocol entry points
(``WebSocketProtocol``, ``encode_frame``) and read the wire bytes directly, without our
own decoder, so that a bug shared by the encoder and the decoder cannot hide itself.
"""

from __future__ import annotations

import struct
import tracemalloc
import zlib
from collections.abc import Callable

import pytest

from omniws.errors import MessageTooLarge, ProtocolError
from omniws.messages import Message
from omniws.protocol.connection import WebSocketProtocol
from omniws.protocol.deflate import PerMessageDeflate
from omniws.protocol.frames import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONTINUATION,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    encode_frame,
    py_encode_frame,
)

try:
    from omniws.protocol import _speedups
except ImportError:  # pragma: no cover - the pure-Python install
    _speedups = None  # type: ignore[assignment]

MiB = 1 << 20
ZERO_KEY = b"\x00\x00\x00\x00"
Encoder = Callable[..., bytes]
ENCODERS = [pytest.param(py_encode_frame, id="reference"), pytest.param(encode_frame, id="in-use")]
if _speedups is not None:
    ENCODERS.append(pytest.param(_speedups.encode_frame, id="compiled"))


def naive_mask(payload: bytes, key: bytes) -> bytes:
    return bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def parse_wire(wire: bytes) -> list[tuple[int, bytes | None, bytes]]:
    """Split client frames by hand: ``(first_byte, key or None, payload as on the wire)``."""
    frames: list[tuple[int, bytes | None, bytes]] = []
    pos = 0
    while pos < len(wire):
        first, second = wire[pos], wire[pos + 1]
        length, pos = second & 0x7F, pos + 2
        if length == 126:
            (length,), pos = struct.unpack_from("!H", wire, pos), pos + 2
        elif length == 127:
            (length,), pos = struct.unpack_from("!Q", wire, pos), pos + 8
        key = None
        if second & 0x80:
            key, pos = wire[pos : pos + 4], pos + 4
        frames.append((first, key, wire[pos : pos + length]))
        pos += length
    return frames


# --- bug: masking with a constant (all-zero) key -------------------------------------------


@pytest.mark.parametrize("size", [1, 5, 125, 126, 2047, 2048, 5000, 65536])
@pytest.mark.parametrize("encoder", ENCODERS)
def test_encoder_writes_the_given_key_and_masks_with_it(encoder: Encoder, size: int) -> None:
    payload = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    key = b"\x9a\x01\xfe\x37"
    [(first, wire_key, wire_payload)] = parse_wire(encoder(OP_BINARY, payload, key))
    assert first == 0x80 | OP_BINARY
    assert wire_key == key
    assert wire_payload == naive_mask(payload, key)
    assert wire_payload != payload


def test_protocol_draws_a_fresh_random_key_for_every_frame() -> None:
    sent = bytearray()
    protocol = WebSocketProtocol(sent.extend)
    texts = [f"message {i} " * 3 for i in range(300)]
    for text in texts:
        protocol.send_text(text)
    protocol.send_binary(b"\x00" * 40)
    protocol.send_ping(b"ping payload")
    protocol.send_pong(b"pong payload")
    protocol.send_close(1000, "bye")
    frames = parse_wire(bytes(sent))
    assert len(frames) == len(texts) + 4
    firsts = [0x80 | OP_BINARY, 0x80 | OP_PING, 0x80 | OP_PONG, 0x80 | OP_CLOSE]
    assert [first for first, _, _ in frames[-4:]] == firsts
    keys = [key for _, key, _ in frames]
    assert all(key is not None and len(key) == 4 for key in keys), "client frames must be masked"
    assert ZERO_KEY not in keys
    # 32 random bits per key: 304 keys collide with probability about 1e-5
    assert len(set(keys)) >= len(keys) - 1, "masking keys must be unpredictable, not reused"
    plain = [t.encode() for t in texts] + [b"\x00" * 40, b"ping payload", b"pong payload"]
    plain.append((1000).to_bytes(2, "big") + b"bye")
    for (_, key, wire_payload), expected in zip(frames, plain, strict=True):
        assert key is not None
        assert wire_payload != expected, "the payload must go out masked"
        assert naive_mask(wire_payload, key) == expected


def test_compressed_frames_are_masked_too() -> None:
    sent = bytearray()
    protocol = WebSocketProtocol(sent.extend, deflate=PerMessageDeflate(threshold=0))
    for i in range(50):
        protocol.send_text(f"compressible {i} " * 20)
    frames = parse_wire(bytes(sent))
    keys = {key for _, key, _ in frames}
    assert None not in keys and ZERO_KEY not in keys and len(keys) >= 49
    inflater = zlib.decompressobj(-15)
    for i, (first, key, wire_payload) in enumerate(frames):
        assert first == 0x80 | 0x40 | OP_TEXT
        assert key is not None
        text = inflater.decompress(naive_mask(wire_payload, key) + b"\x00\x00\xff\xff")
        assert text == f"compressible {i} ".encode() * 20


# --- bug: dropping the final flag when decoding fragmented text ----------------------------


class Peer:
    def __init__(self, **options: object) -> None:
        self.sent = bytearray()
        self.messages: list[Message] = []
        self.protocol = WebSocketProtocol(
            self.sent.extend,
            on_message=self.messages.append,
            **options,  # type: ignore[arg-type]
        )

    def feed_fails(self, *frames: bytes) -> ProtocolError:
        with pytest.raises(ProtocolError) as info:
            self.protocol.receive_data(b"".join(frames))
        return info.value

    def close_sent(self) -> bytes:
        [*_, (first, key, payload)] = parse_wire(bytes(self.sent))
        assert first == 0x80 | OP_CLOSE and key is not None
        return naive_mask(payload, key)


def frame(opcode: int, payload: bytes, fin: bool = True, rsv1: bool = False) -> bytes:
    return encode_frame(opcode, payload, None, fin=fin, rsv1=rsv1)


EURO = "€".encode()  # 3 bytes


@pytest.mark.parametrize(
    "fragments",
    [
        [b"abc", EURO[:2]],  # the message ends inside a character
        [b"abc" + EURO[:1], b""],  # an empty last fragment ends it there
        [EURO[:1], EURO[1:2]],  # a character split across fragments, never finished
        [b"ok", b"ok", b"\xf0\x9f\x98"],  # a 4-byte sequence cut after 3
    ],
)
def test_fragmented_text_ending_inside_a_character_fails_1007(fragments: list[bytes]) -> None:
    peer = Peer()
    frames = [frame(OP_TEXT, fragments[0], fin=False)]
    frames += [frame(OP_CONTINUATION, f, fin=False) for f in fragments[1:-1]]
    frames.append(frame(OP_CONTINUATION, fragments[-1]))
    error = peer.feed_fails(*frames)
    assert error.close_code == 1007
    assert peer.messages == []
    assert peer.close_sent() == (1007).to_bytes(2, "big")


@pytest.mark.parametrize("fragmented", [False, True])
def test_compressed_text_ending_inside_a_character_fails_1007(fragmented: bool) -> None:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    data = compressor.compress(b"abc" + EURO[:2]) + compressor.flush(zlib.Z_SYNC_FLUSH)
    data = data[:-4]
    peer = Peer(deflate=PerMessageDeflate())
    if fragmented:
        frames = [frame(OP_TEXT, data[:3], fin=False, rsv1=True), frame(OP_CONTINUATION, data[3:])]
    else:
        frames = [frame(OP_TEXT, data, rsv1=True)]
    assert peer.feed_fails(*frames).close_code == 1007
    assert peer.messages == []


def test_complete_character_across_fragments_is_still_delivered() -> None:
    peer = Peer()
    peer.protocol.receive_data(
        frame(OP_TEXT, b"a" + EURO[:1], fin=False) + frame(OP_CONTINUATION, EURO[1:])
    )
    assert peer.messages == ["a€"]


# --- bug: not passing max_message_size to the inflater on the protocol path ----------------


def deflate_bomb(inflated: int) -> bytes:
    """A compressed message of ``inflated`` zero bytes (about 1030:1)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
    data = compressor.compress(bytes(inflated)) + compressor.flush(zlib.Z_SYNC_FLUSH)
    return data[:-4]


def peak_while(action: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        with pytest.raises(MessageTooLarge) as info:
            action()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.value.max_size == MiB
    assert info.value.size == MiB + 1  # inflating stopped one byte past the limit
    return peak


BOMB = deflate_bomb(64 * MiB)


def test_the_bomb_is_a_64_kib_frame_worth_64_mib() -> None:
    assert 60_000 < len(BOMB) <= 66_000
    assert len(zlib.decompressobj(-15).decompress(BOMB)) == 64 * MiB


@pytest.mark.parametrize("split", [None, 1000, 40_000])
def test_deflate_bomb_through_receive_data_stays_within_memory(split: int | None) -> None:
    if split is None:
        wire = frame(OP_BINARY, BOMB, rsv1=True)
    else:  # fragmented: the limit must hold within a message, not only per frame
        wire = frame(OP_BINARY, BOMB[:split], fin=False, rsv1=True)
        wire += frame(OP_CONTINUATION, BOMB[split:])
    peer = Peer(deflate=PerMessageDeflate(), max_message_size=MiB)
    peak = peak_while(lambda: peer.protocol.receive_data(wire))
    # bounded: the inflated output never passes the 1 MiB limit (64 MiB without it)
    assert peak < 6 * MiB, f"peak {peak} bytes while refusing a 64 MiB bomb"
    assert peer.messages == []
    assert peer.close_sent() == (1009).to_bytes(2, "big")


def test_bomb_in_small_fragments_is_refused_early() -> None:
    peer = Peer(deflate=PerMessageDeflate(), max_message_size=MiB)
    peer.protocol.receive_data(frame(OP_BINARY, BOMB[:500], fin=False, rsv1=True))
    fed = 1
    with pytest.raises(MessageTooLarge):
        for start in range(500, len(BOMB), 500):
            peer.protocol.receive_data(frame(OP_CONTINUATION, BOMB[start : start + 500], fin=False))
            fed += 1
    assert fed < 20, "refused after about 1 MiB of output, not at the end of the message"


def test_inflated_message_at_the_limit_is_delivered() -> None:
    peer = Peer(deflate=PerMessageDeflate(), max_message_size=MiB)
    peer.protocol.receive_data(frame(OP_BINARY, deflate_bomb(MiB), rsv1=True))
    assert peer.messages == [bytes(MiB)]
