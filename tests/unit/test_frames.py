"""Frame encoding, masking and the incremental decoder, including property-based tests."""

from __future__ import annotations

import contextlib
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omniws.errors import MessageTooLarge, ProtocolError
from omniws.protocol.frames import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONTINUATION,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    FrameDecoder,
    MaskingKeys,
    encode_frame,
    mask,
)


def decode_all(data: bytes, chunk: int | None = None, **options: object) -> list[tuple[int, bytes]]:
    frames: list[tuple[int, bytes]] = []
    decoder = FrameDecoder(lambda first, payload: frames.append((first, payload)), **options)  # type: ignore[arg-type]
    if chunk is None:
        decoder.feed(data)
    else:
        for start in range(0, len(data), chunk):
            decoder.feed(data[start : start + chunk])
    return frames


def naive_mask(payload: bytes, key: bytes) -> bytes:
    return bytes(b ^ key[i % 4] for i, b in enumerate(payload))


@pytest.mark.parametrize("size", [0, 1, 3, 4, 5, 125, 126, 2047, 2048, 2049, 65535, 65536, 100_003])
def test_mask_matches_definition(size: int) -> None:
    payload, key = os.urandom(size), os.urandom(4)
    assert mask(payload, key) == naive_mask(payload, key)
    assert mask(mask(payload, key), key) == payload


@pytest.mark.parametrize(("size", "header"), [(0, 2), (125, 2), (126, 4), (65535, 4), (65536, 10)])
def test_length_encodings(size: int, header: int) -> None:
    payload = os.urandom(size)
    unmasked = encode_frame(OP_BINARY, payload, None)
    assert len(unmasked) == header + size
    masked = encode_frame(OP_BINARY, payload, b"abcd")
    assert len(masked) == header + 4 + size
    assert masked[1] & 0x80
    assert decode_all(unmasked) == [(0x80 | OP_BINARY, payload)]
    assert decode_all(masked, expect_masked=True) == [(0x80 | OP_BINARY, payload)]


def test_masking_keys_are_batched_and_distinct() -> None:
    keys = MaskingKeys()
    drawn = [keys.next() for _ in range(3000)]
    assert all(len(key) == 4 for key in drawn)
    assert len(set(drawn)) > 2900  # 32 random bits each: collisions are rare


frame_strategy = st.one_of(
    st.tuples(
        st.sampled_from([OP_TEXT, OP_BINARY, OP_CONTINUATION]),
        st.binary(max_size=70_000),
        st.booleans(),
    ),
    st.tuples(
        st.sampled_from([OP_PING, OP_PONG, OP_CLOSE]), st.binary(max_size=125), st.just(True)
    ),
)


@settings(max_examples=200, deadline=None)
@given(
    frames=st.lists(frame_strategy, max_size=8), chunk=st.integers(1, 5000), masked=st.booleans()
)
def test_any_frame_sequence_round_trips(
    frames: list[tuple[int, bytes, bool]], chunk: int, masked: bool
) -> None:
    keys = MaskingKeys()
    wire = b"".join(
        encode_frame(op, payload, keys.next() if masked else None, fin=fin)
        for op, payload, fin in frames
    )
    expected = [((0x80 if fin else 0) | op, payload) for op, payload, fin in frames]
    assert decode_all(wire, chunk, expect_masked=masked) == expected


@settings(max_examples=500, deadline=None)
@given(data=st.binary(max_size=300), chunk=st.integers(1, 64))
def test_arbitrary_bytes_only_raise_protocol_error(data: bytes, chunk: int) -> None:
    with contextlib.suppress(ProtocolError):
        decode_all(data, chunk, max_payload=1000)


@settings(max_examples=300, deadline=None)
@given(payload=st.binary(max_size=200), flip=st.integers(0, 10_000), bit=st.integers(0, 7))
def test_corrupted_frames_only_raise_protocol_error(payload: bytes, flip: int, bit: int) -> None:
    wire = bytearray(encode_frame(OP_TEXT, payload, None) + encode_frame(OP_PING, b"p", None))
    wire[flip % len(wire)] ^= 1 << bit
    with contextlib.suppress(ProtocolError):
        decode_all(bytes(wire), 7, max_payload=150)


@pytest.mark.parametrize(
    ("wire", "problem"),
    [
        (bytes([0x83, 0x00]), "reserved opcode"),
        (bytes([0x8B, 0x00]), "reserved opcode"),
        (bytes([0xC1, 0x00]), "reserved bits"),
        (bytes([0xA1, 0x00]), "reserved bits"),
        (bytes([0x91, 0x00]), "reserved bits"),
        (bytes([0x81, 0x80]) + b"abcd", "must not be masked"),
        (bytes([0x09, 0x00]), "fragmented"),
        (bytes([0x89, 0x7E, 0x00, 0x7E]) + b"x" * 126, "max 125"),
        (bytes([0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0]), "most significant bit"),
    ],
)
def test_invalid_frames_are_refused(wire: bytes, problem: str) -> None:
    with pytest.raises(ProtocolError, match=problem):
        decode_all(wire)


def test_size_limit_applies_before_the_payload_arrives() -> None:
    decoder = FrameDecoder(lambda first, payload: None, max_payload=1000)
    header_only = encode_frame(OP_BINARY, b"x" * 5000, None)[:4]
    with pytest.raises(MessageTooLarge) as info:
        decoder.feed(header_only)
    assert info.value.size == 5000
    assert info.value.close_code == 1009


def test_large_payload_in_small_chunks_is_not_quadratic() -> None:
    payload = os.urandom(1 << 20)
    frames = decode_all(encode_frame(OP_BINARY, payload, None), chunk=4096)
    assert frames == [(0x82, payload)]
