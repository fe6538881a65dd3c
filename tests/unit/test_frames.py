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
    PyFrameDecoder,
    encode_frame,
    mask,
    py_encode_frame,
    py_mask,
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


def frame(opcode: int, payload: bytes, fin: bool = True, rsv1: bool = False) -> bytes:
    return encode_frame(opcode, payload, None, fin=fin, rsv1=rsv1)


# --- edges found by mutation testing (docs/MUTATION.md) --------------------------------------


def test_reference_masks_large_memoryviews() -> None:
    payload = bytes(range(256)) * 20  # past the bulk-masking threshold
    key = b"\x01\x02\x03\x04"
    assert py_mask(memoryview(payload), key) == naive_mask(payload, key)
    wire = py_encode_frame(OP_BINARY, memoryview(payload), key)
    assert wire[8:] == naive_mask(payload, key)


def test_reference_sets_rsv1() -> None:
    assert py_encode_frame(OP_TEXT, b"", None, rsv1=True) == b"\xc1\x00"
    assert py_encode_frame(OP_TEXT, b"", None, fin=False, rsv1=True) == b"\x41\x00"


def test_first_key_of_a_fresh_source_is_random() -> None:
    firsts = {MaskingKeys().next() for _ in range(50)}
    assert len(firsts) >= 49


def collect(decoder_options: dict[str, object], *chunks: bytes) -> list[tuple[int, bytes]]:
    frames: list[tuple[int, bytes]] = []
    decoder = PyFrameDecoder(lambda f, p: frames.append((f, p)), **decoder_options)  # type: ignore[arg-type]
    assert decoder.buffered == 0
    for chunk in chunks:
        decoder.feed(chunk)
    assert decoder.buffered == 0
    return frames


@pytest.mark.parametrize("size", [126, 70_000])
@pytest.mark.parametrize("cut", [1, 2, 3])
def test_extended_length_split_after_a_complete_frame(size: int, cut: int) -> None:
    big = frame(OP_BINARY, b"b" * size)
    data = frame(OP_TEXT, b"abc") + big
    frames = collect({}, data[: 5 + cut], data[5 + cut :])
    assert frames == [(0x81, b"abc"), (0x82, b"b" * size)]


@pytest.mark.parametrize("decoder_class", [PyFrameDecoder, FrameDecoder])
@pytest.mark.parametrize("size", [20, 300, 70_000])
def test_payload_completed_by_the_next_read_after_a_whole_frame(
    size: int, decoder_class: type[PyFrameDecoder]
) -> None:
    second = frame(OP_BINARY, b"b" * size)
    data = frame(OP_TEXT, b"abc") + second
    frames: list[tuple[int, bytes]] = []
    decoder = decoder_class(lambda f, p: frames.append((f, p)))
    decoder.feed(data[: 5 + len(second) - 3])  # the first frame and all but 3 bytes
    assert frames == [(0x81, b"abc")]
    decoder.feed(data[-3:])
    assert frames == [(0x81, b"abc"), (0x82, b"b" * size)]


def test_buffered_counts_only_what_is_waiting() -> None:
    frames: list[tuple[int, bytes]] = []
    decoder = PyFrameDecoder(lambda f, p: frames.append((f, p)))
    data = frame(OP_BINARY, b"x" * 300)
    decoder.feed(data[:100])
    assert decoder.buffered == 100
    decoder.feed(data[100:])
    assert decoder.buffered == 0 and frames == [(0x82, b"x" * 300)]


@pytest.mark.parametrize(
    ("wire", "options", "message"),
    [
        (b"\xc1\x00", {}, "server set reserved bits 0x40 without a negotiated extension"),
        (b"\x91\x00", {}, "server set reserved bits 0x10 without a negotiated extension"),
        (
            b"\x81\x00",
            {"expect_masked": True},
            "frames from the client must be masked (RFC 6455 5.1)",
        ),
        (b"\x81\x80abcd", {}, "frames from the server must not be masked (RFC 6455 5.1)"),
        (b"\xc9\x00", {"allow_rsv1": True}, "control frame has RSV1 set"),
        (
            b"\x82\x7f" + bytes([0x80]) + bytes(7),
            {},
            "frame length has the most significant bit set",
        ),
        (b"\x09\x00", {}, "control frame 0x9 is fragmented"),
    ],
)
def test_header_errors_are_exact(wire: bytes, options: dict[str, object], message: str) -> None:
    with pytest.raises(ProtocolError) as info:
        collect(options, wire)
    assert str(info.value).startswith(message)


def test_control_frame_of_125_bytes_is_accepted() -> None:
    assert collect({}, frame(OP_PING, b"p" * 125)) == [(0x89, b"p" * 125)]


@pytest.mark.parametrize("opcode", [OP_TEXT, OP_BINARY])
def test_oversized_unfinished_data_frame_is_too_large_not_a_control_error(opcode: int) -> None:
    with pytest.raises(MessageTooLarge) as info:
        collect({"max_payload": 1000}, frame(opcode, b"x" * 5000, fin=False)[:4])
    assert (info.value.size, info.value.max_size) == (5000, 1000)


@pytest.mark.parametrize("length", [10_024, 10_025])
def test_compressed_frames_may_exceed_the_limit_by_an_eighth_plus_1024(length: int) -> None:
    header = frame(OP_BINARY, bytes(length), rsv1=True)[:4]
    options = {"max_payload": 8000, "allow_rsv1": True}
    if length == 10_024:
        collect(options, header, bytes(length))
    else:
        with pytest.raises(MessageTooLarge) as info:
            collect(options, header)
        assert (info.value.size, info.value.max_size) == (length, 8000)
    with pytest.raises(MessageTooLarge):  # uncompressed frames get no such margin
        collect(options, frame(OP_BINARY, bytes(8001))[:4])
