"""The compiled accelerator (protocol/_speedups.c) against the pure-Python reference.

Both implementations must give identical results on the same input: the same bytes from
``mask`` and ``encode_frame``, and from the decoder the same frames, the same ``buffered``
counts and the same errors (type and message) on random and corrupted byte streams.

Which implementation is selected, and the install without a compiler, are tested in
test_speedups_install.py.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omniws.errors import MessageTooLarge
from omniws.protocol.frames import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONTINUATION,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    PyFrameDecoder,
    py_encode_frame,
    py_mask,
)

try:
    from omniws.protocol import _speedups
except ImportError:  # pragma: no cover - the pure-Python install
    _speedups = None  # type: ignore[assignment]

needs_speedups = pytest.mark.skipif(_speedups is None, reason="the C accelerator is not built")


# ---- mask and encode_frame ---------------------------------------------------------
payloads = st.one_of(
    st.binary(max_size=300),
    st.integers(0, 70_000).map(lambda n: os.urandom(n)),
)
keys = st.binary(min_size=4, max_size=4)


@needs_speedups
@settings(max_examples=400, deadline=None)
@given(payload=payloads, key=keys, kind=st.sampled_from([bytes, bytearray, memoryview]))
def test_mask_is_identical(payload: bytes, key: bytes, kind: type) -> None:
    data = kind(payload)
    assert _speedups.mask(data, key) == py_mask(data, key)


@needs_speedups
@pytest.mark.parametrize("size", [*range(0, 40), 2047, 2048, 2049, 65535, 65536, (1 << 20) + 3])
def test_mask_sizes(size: int) -> None:
    payload, key = os.urandom(size), os.urandom(4)
    assert _speedups.mask(payload, key) == py_mask(payload, key)


@needs_speedups
def test_mask_rejects_bad_keys() -> None:
    for key in (b"", b"abc", b"abcde"):
        with pytest.raises(ValueError, match="4 bytes"):
            _speedups.mask(b"payload", key)


@needs_speedups
@settings(max_examples=400, deadline=None)
@given(
    opcode=st.sampled_from([OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG]),
    payload=payloads,
    key=st.one_of(st.none(), keys),
    fin=st.booleans(),
    rsv1=st.booleans(),
    kind=st.sampled_from([bytes, bytearray, memoryview]),
)
def test_encode_frame_is_identical(
    opcode: int, payload: bytes, key: bytes | None, fin: bool, rsv1: bool, kind: type
) -> None:
    data = kind(payload)
    expected = py_encode_frame(opcode, data, key, fin=fin, rsv1=rsv1)
    assert _speedups.encode_frame(opcode, data, key, fin=fin, rsv1=rsv1) == expected
    if fin and not rsv1:
        assert _speedups.encode_frame(opcode, data, key) == expected


# ---- the decoder --------------------------------------------------------------------
if _speedups is not None:

    class CompiledDecoder(_speedups.FrameDecoder):
        __slots__ = ()
        _check = PyFrameDecoder._check

else:  # pragma: no cover
    CompiledDecoder = PyFrameDecoder  # type: ignore[misc]


def run_decoder(
    cls: Callable[..., Any], chunks: list[bytes], options: dict[str, Any], shrink: bool
) -> list[object]:
    """Everything observable: frames, ``buffered`` and what ``feed`` returned after each
    feed, the error if any. With a ``frame_budget``, a feed that stopped at the budget is
    followed by ``feed(b"")`` after odd chunks and by the next chunk after even ones."""
    events: list[object] = []

    def on_frame(first: int, payload: bytes) -> None:
        assert type(payload) is bytes
        events.append((first, payload))
        if shrink and decoder.max_payload is not None:  # as a fragmented message does
            decoder.max_payload = max(decoder.max_payload - len(payload), 0)

    decoder = cls(on_frame, **options)
    try:
        more = False
        for index, chunk in enumerate([*chunks, b""]):
            more = decoder.feed(chunk)
            events.append(("buffered", decoder.buffered, more))
            while more and (index % 2 or index == len(chunks)):
                more = decoder.feed(b"")
                events.append(("buffered", decoder.buffered, more))
    except Exception as exc:
        detail = (exc.size, exc.max_size) if isinstance(exc, MessageTooLarge) else None
        events.append((type(exc), str(exc), getattr(exc, "close_code", None), detail))
    return events


frame_specs = st.tuples(
    st.integers(0, 15),  # opcode, reserved ones included
    st.one_of(st.binary(max_size=130), st.integers(0, 70_000)),  # payload or its size
    st.booleans(),  # fin
    st.integers(0, 7),  # rsv bits
    st.booleans(),  # masked
)


def build_stream(specs: list[tuple[int, bytes | int, bool, int, bool]]) -> bytes:
    parts = []
    for opcode, payload, fin, rsv, masked in specs:
        data = payload if isinstance(payload, bytes) else b"\x5a" * payload
        frame = bytearray(py_encode_frame(opcode, data, os.urandom(4) if masked else None, fin=fin))
        frame[0] |= rsv << 4
        parts.append(bytes(frame))
    return b"".join(parts)


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]


decoder_options = st.fixed_dictionaries(
    {},
    optional={
        "max_payload": st.one_of(st.none(), st.integers(0, 80_000)),
        "allow_rsv1": st.booleans(),
        "expect_masked": st.booleans(),
        "frame_budget": st.one_of(st.none(), st.integers(1, 3)),
    },
)


def assert_same(chunks: list[bytes], options: dict[str, Any], shrink: bool) -> None:
    expected = run_decoder(PyFrameDecoder, chunks, options, shrink)
    assert run_decoder(CompiledDecoder, chunks, options, shrink) == expected


@needs_speedups
@settings(max_examples=400, deadline=None)
@given(
    specs=st.lists(frame_specs, max_size=6),
    cuts=st.lists(st.integers(0, 1 << 20), max_size=12),
    options=decoder_options,
    shrink=st.booleans(),
)
def test_decoder_is_identical_on_frame_streams(
    specs: list[tuple[int, bytes | int, bool, int, bool]],
    cuts: list[int],
    options: dict[str, Any],
    shrink: bool,
) -> None:
    assert_same(split(build_stream(specs), cuts), options, shrink)


@needs_speedups
@settings(max_examples=300, deadline=None)
@given(
    specs=st.lists(
        st.tuples(
            st.sampled_from([OP_TEXT, OP_BINARY, OP_PING, OP_PONG]),
            st.one_of(st.binary(max_size=125), st.integers(126, 70_000)),
        ),
        max_size=12,
    ),
    cuts=st.lists(st.integers(0, 1 << 20), max_size=6),
    budget=st.integers(1, 5),
)
def test_decoder_is_identical_with_a_frame_budget(
    specs: list[tuple[int, bytes | int]], cuts: list[int], budget: int
) -> None:
    """Valid frames only, so that a budget is reached (random streams fail early)."""
    valid = [(op, p if op < 8 or isinstance(p, bytes) else b"", True, 0, False) for op, p in specs]
    chunks = split(build_stream(valid), cuts)
    assert_same(chunks, {"frame_budget": budget}, False)
    frames_seen = [e for e in run_decoder(CompiledDecoder, chunks, {}, False) if e[0] != "buffered"]
    assert len(frames_seen) == len(specs)


@needs_speedups
@settings(max_examples=400, deadline=None)
@given(
    specs=st.lists(frame_specs, min_size=1, max_size=4),
    flips=st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 7)), min_size=1, max_size=3),
    cuts=st.lists(st.integers(0, 1 << 20), max_size=8),
    options=decoder_options,
)
def test_decoder_is_identical_on_corrupted_streams(
    specs: list[tuple[int, bytes | int, bool, int, bool]],
    flips: list[tuple[int, int]],
    cuts: list[int],
    options: dict[str, Any],
) -> None:
    wire = bytearray(build_stream(specs))
    for position, bit in flips:
        wire[position % len(wire)] ^= 1 << bit
    assert_same(split(bytes(wire), cuts), options, False)


@needs_speedups
@settings(max_examples=400, deadline=None)
@given(
    data=st.binary(max_size=400),
    cuts=st.lists(st.integers(0, 400), max_size=10),
    options=decoder_options,
)
def test_decoder_is_identical_on_random_bytes(
    data: bytes, cuts: list[int], options: dict[str, Any]
) -> None:
    assert_same(split(data, cuts), options, False)


@needs_speedups
@pytest.mark.parametrize(
    "header",
    [
        bytes([0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0]),  # most significant bit
        bytes([0x82, 0x7F, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),  # 2**63 - 1
        bytes([0x82, 0x7F, 0, 0, 0, 1, 0, 0, 0, 0]),  # 4 GiB: waits for it
        bytes([0xC2, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]),  # compressed, a bit over the limit
        bytes([0x01, 0xFE, 0x00, 0x80]),  # masked fragment
    ],
)
@pytest.mark.parametrize("max_payload", [None, 0, 60_000, 1 << 40, 1 << 70])
def test_decoder_is_identical_on_edge_headers(header: bytes, max_payload: int | None) -> None:
    for allow_rsv1 in (False, True):
        options = {"max_payload": max_payload, "allow_rsv1": allow_rsv1}
        assert_same([header, b"\x00" * 200], options, False)
        assert_same([header[:3], header[3:], b"\x00"], options, False)


@needs_speedups
def test_large_frame_in_many_chunks() -> None:
    payload = os.urandom((1 << 20) + 5)
    for key in (None, b"\x01\x02\x03\x04"):
        wire = py_encode_frame(OP_BINARY, payload, key) + py_encode_frame(OP_PING, b"x", key)
        chunks = split(wire, list(range(7, len(wire), 4093)))
        options = {"expect_masked": key is not None, "max_payload": 1 << 21}
        assert_same(chunks, options, False)
        assert (0x82, payload) in run_decoder(CompiledDecoder, chunks, options, False)


@needs_speedups
def test_decoder_attributes_and_errors() -> None:
    decoder = CompiledDecoder(print, max_payload=5)
    assert (decoder.max_payload, decoder.allow_rsv1, decoder.expect_masked) == (5, False, False)
    decoder.max_payload = None
    assert decoder.buffered == 0
    decoder.feed(b"\x82")
    assert decoder.buffered == 1
    assert decoder.frame_budget is None
    with pytest.raises(AttributeError):
        decoder.unknown = 1  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        CompiledDecoder()  # type: ignore[call-arg]
