"""permessage-deflate (RFC 7692) codec: round trips, the window rules, interop with websockets."""

from __future__ import annotations

import itertools
import random
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from websockets.extensions.permessage_deflate import PerMessageDeflate as WsDeflate
from websockets.frames import Frame, Opcode

from omniws.errors import MessageTooLarge, ProtocolError
from omniws.protocol.deflate import (
    PerMessageDeflate,
)

TAIL = b"\x00\x00\xff\xff"
MiB = 1 << 20


# --- round trips -----------------------------------------------------------------------------

WORDS = [b"price", b"qty", b'"sym":', b"BTC-USD", b"{", b"}", b"123.45", b"null", b"\xff\x00"]
messages = st.one_of(
    st.binary(max_size=3000),
    st.lists(st.sampled_from(WORDS), max_size=600).map(b" ".join),
)


def pair(no_context: bool, bits: int) -> tuple[PerMessageDeflate, PerMessageDeflate]:
    """A sender compressing as a client and a receiver inflating what such a client sends."""
    sender = PerMessageDeflate(client_no_context_takeover=no_context, client_max_window_bits=bits)
    receiver = PerMessageDeflate(server_no_context_takeover=no_context, server_max_window_bits=bits)
    return sender, receiver


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


@settings(max_examples=150, deadline=None)
@given(
    batch=st.lists(st.tuples(messages, st.lists(st.integers(0, 10_000), max_size=4)), max_size=8),
    no_context=st.booleans(),
    bits=st.integers(8, 15),
    limit=st.sampled_from([None, 3000 * 6]),
)
def test_round_trip_fragmented(
    batch: list[tuple[bytes, list[int]]], no_context: bool, bits: int, limit: int | None
) -> None:
    sender, receiver = pair(no_context, bits)
    for message, cuts in batch:
        frames = split(sender.compress(message), cuts)
        out = [receiver.decompress(f, i == len(frames) - 1, limit) for i, f in enumerate(frames)]
        assert b"".join(out) == message


@settings(max_examples=100, deadline=None)
@given(batch=st.lists(messages, min_size=1, max_size=8), bits=st.integers(8, 15))
def test_no_context_takeover_messages_stand_alone(batch: list[bytes], bits: int) -> None:
    sender = PerMessageDeflate(client_no_context_takeover=True, client_max_window_bits=bits)
    for message in batch:
        assert zlib.decompressobj(-15).decompress(sender.compress(message) + TAIL) == message


@settings(max_examples=60, deadline=None)
@given(batch=st.lists(messages, min_size=1, max_size=10), bits=st.integers(8, 15))
def test_compressed_output_fits_the_negotiated_window(batch: list[bytes], bits: int) -> None:
    """A strict inflater with exactly `bits` (8 included) decodes, even in tiny steps."""
    sender = PerMessageDeflate(client_max_window_bits=bits)
    inflater = zlib.decompressobj(-bits)
    for message in batch:
        data, out = sender.compress(message) + TAIL, []
        while data:
            out.append(inflater.decompress(data, 7))
            data = inflater.unconsumed_tail
        out.append(inflater.decompress(b""))
        assert b"".join(out) == message


def test_window_bits_9_is_safe_for_8_but_10_is_not() -> None:
    """Why compressing with 9 when 8 was negotiated is sound: zlib caps distances at 250."""
    text = b" ".join(b"%d-%d" % (i * 7919 % 1000, i % 13) for i in range(400))
    for bits, ok in ((9, True), (10, False)):
        compressor = zlib.compressobj(9, zlib.DEFLATED, -bits)
        inflater = zlib.decompressobj(-8)
        try:
            for _ in range(5):
                data = compressor.compress(text) + compressor.flush(zlib.Z_SYNC_FLUSH)
                while data:
                    inflater.decompress(data, 7)
                    data = inflater.unconsumed_tail
        except zlib.error:
            assert not ok
        else:
            assert ok


def test_empty_message() -> None:
    sender, receiver = pair(False, 15)
    assert sender.compress(b"") == b"\x00"  # RFC 7692 7.2.3.6
    assert receiver.decompress(b"\x00", True, 0) == b""
    assert receiver.decompress(sender.compress(b""), True, None) == b""


def test_accepts_bytearray_and_memoryview() -> None:
    sender, receiver = pair(False, 15)
    payload = b"hello hello hello " * 200
    data = sender.compress(memoryview(payload))
    assert receiver.decompress(bytearray(data), True, None) == payload
    data = sender.compress(bytearray(payload))
    assert receiver.decompress(memoryview(data), True, None) == payload


def test_large_final_frame_is_not_copied_with_the_tail() -> None:
    sender, receiver = pair(False, 15)
    payload = random.Random(0).randbytes(20_000) + b"x" * 100_000
    data = sender.compress(payload)
    assert len(data) > 2048
    assert receiver.decompress(data, True, len(payload)) == payload
    assert receiver.decompress(sender.compress(payload), True, None) == payload


def test_rfc_7692_examples() -> None:
    receiver = PerMessageDeflate()
    # 7.2.3.1 "Hello" and 7.2.3.2 context takeover ("Hello" again, 5 bytes)
    assert receiver.decompress(bytes.fromhex("f248cdc9c90700"), True, None) == b"Hello"
    assert receiver.decompress(bytes.fromhex("f200110000"), True, None) == b"Hello"
    # 7.2.3.1 split over two frames
    assert receiver.decompress(bytes.fromhex("f248cd"), False, None) == b"He"
    assert receiver.decompress(bytes.fromhex("c9c90700"), True, None) == b"llo"
    # 7.2.3.4 "Hello" in two DEFLATE blocks
    data = bytes.fromhex("f24805000000ffffcac9c90700")
    assert PerMessageDeflate().decompress(data, True, None) == b"Hello"
    # 7.2.3.3 a block with BFINAL set, twice: each message ends the stream
    receiver = PerMessageDeflate()
    for _ in range(2):
        assert receiver.decompress(bytes.fromhex("f348cdc9c90700"), True, None) == b"Hello"


def test_bfinal_messages_from_zlib_finish() -> None:
    receiver = PerMessageDeflate(server_no_context_takeover=True)
    for message in (b"first " * 50, b"second " * 50, b""):
        compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
        data = compressor.compress(message) + compressor.flush(zlib.Z_FINISH)
        assert receiver.decompress(data, True, None) == message


def test_data_after_final_block_is_invalid() -> None:
    with pytest.raises(
        ProtocolError, match=r"^data after the final deflate block of a message$"
    ) as info:
        PerMessageDeflate().decompress(bytes.fromhex("f348cdc9c90700") + b"junk", True, None)
    assert info.value.close_code == 1007


@pytest.mark.parametrize("data", [b"\xff\xff\xff\xff", bytes.fromhex("f248cdc9c907") + b"\x06"])
def test_invalid_deflate_data(data: bytes) -> None:
    receiver = PerMessageDeflate()
    with pytest.raises(ProtocolError, match="invalid compressed data") as info:
        receiver.decompress(data, True, None)
    assert info.value.close_code == 1007
    assert not isinstance(info.value, MessageTooLarge)
    # the next connection state is fresh; a new message from scratch decodes
    assert receiver.decompress(bytes.fromhex("f248cdc9c90700"), True, None) == b"Hello"


def test_context_takeover_shrinks_repeated_messages() -> None:
    message = b'{"op": "subscribe", "channel": "trades", "symbols": ["BTC", "ETH"]}' * 2
    keep = PerMessageDeflate()
    drop = PerMessageDeflate(client_no_context_takeover=True)
    keep.compress(message)
    drop.compress(message)
    assert len(keep.compress(message)) < len(drop.compress(message)) // 3


# --- against a real peer: websockets' permessage-deflate ------------------------------------


def ws_server(no_context: bool, client_bits: int, server_bits: int = 15) -> WsDeflate:
    """The websockets server side of a connection negotiated with these parameters."""
    return WsDeflate(
        remote_no_context_takeover=no_context,  # the client's (our) context
        local_no_context_takeover=no_context,
        remote_max_window_bits=client_bits,
        local_max_window_bits=server_bits,
    )


@settings(max_examples=100, deadline=None)
@given(
    batch=st.lists(st.tuples(messages, st.lists(st.integers(0, 10_000), max_size=3)), max_size=6),
    no_context=st.booleans(),
    bits=st.integers(9, 15),
)
def test_interop_we_compress_websockets_inflates(
    batch: list[tuple[bytes, list[int]]], no_context: bool, bits: int
) -> None:
    ours = PerMessageDeflate(client_no_context_takeover=no_context, client_max_window_bits=bits)
    theirs = ws_server(no_context, bits)
    for message, cuts in batch:
        frames = split(ours.compress(message), cuts)
        out = []
        for i, data in enumerate(frames):
            opcode = Opcode.BINARY if i == 0 else Opcode.CONT
            frame = Frame(opcode, data, fin=i == len(frames) - 1, rsv1=i == 0)
            out.append(bytes(theirs.decode(frame).data))
        assert b"".join(out) == message


@settings(max_examples=100, deadline=None)
@given(
    batch=st.lists(st.lists(messages, min_size=1, max_size=3), max_size=6),
    no_context=st.booleans(),
    bits=st.integers(9, 15),
)
def test_interop_websockets_compresses_we_inflate(
    batch: list[list[bytes]], no_context: bool, bits: int
) -> None:
    theirs = ws_server(no_context, 15, bits)
    ours = PerMessageDeflate(server_no_context_takeover=no_context, server_max_window_bits=bits)
    for fragments in batch:
        out = []
        for i, chunk in enumerate(fragments):
            final = i == len(fragments) - 1
            frame = theirs.encode(Frame(Opcode.BINARY if i == 0 else Opcode.CONT, chunk, fin=final))
            out.append(ours.decompress(frame.data, final, 10 * MiB))
        assert b"".join(out) == b"".join(fragments)
