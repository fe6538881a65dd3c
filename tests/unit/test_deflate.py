"""permessage-deflate (RFC 7692): negotiation, round trips, interop, size limits."""

from __future__ import annotations

import dataclasses
import itertools
import random
import tracemalloc
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from websockets.extensions.permessage_deflate import PerMessageDeflate as WsDeflate
from websockets.frames import Frame, Opcode

from omniws.config import CompressionConfig
from omniws.errors import MessageTooLarge, ProtocolError
from omniws.protocol.deflate import (
    DeflateParams,
    PerMessageDeflate,
    accept,
    offer,
    parse_extensions,
)

TAIL = b"\x00\x00\xff\xff"
MiB = 1 << 20


# --- offer ---------------------------------------------------------------------------------


def test_params_mirror_the_compression_config() -> None:
    # the opening code converts with DeflateParams(**asdict(CompressionConfig)): same fields
    def fields(cls: type) -> list[tuple[str, object]]:
        return [(f.name, f.default) for f in dataclasses.fields(cls)]

    assert fields(DeflateParams) == fields(CompressionConfig)
    assert dataclasses.asdict(DeflateParams(**dataclasses.asdict(CompressionConfig(level=1)))) == (
        dataclasses.asdict(CompressionConfig(level=1))
    )


def test_offer_default_sends_bare_client_max_window_bits() -> None:
    assert offer(DeflateParams()) == "permessage-deflate; client_max_window_bits"


def test_offer_every_parameter() -> None:
    config = DeflateParams(
        client_max_window_bits=10,
        server_max_window_bits=12,
        client_no_context_takeover=True,
        server_no_context_takeover=True,
    )
    assert offer(config) == (
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
        "server_max_window_bits=12; client_max_window_bits=10"
    )


def test_offer_without_client_max_window_bits() -> None:
    assert offer(DeflateParams(client_max_window_bits=None)) == "permessage-deflate"


def test_offer_parses_back() -> None:
    config = DeflateParams(server_max_window_bits=9, client_no_context_takeover=True)
    assert parse_extensions([offer(config)]) == [
        (
            "permessage-deflate",
            [
                ("client_no_context_takeover", None),
                ("server_max_window_bits", "9"),
                ("client_max_window_bits", None),
            ],
        )
    ]


# --- header parsing --------------------------------------------------------------------------


def test_parse_lists_lines_quotes_and_whitespace() -> None:
    parsed = parse_extensions(
        [' foo ;a=1 ; b = "x\\"y" , , bar', "", '  PerMessage-Deflate;Client_Max_Window_Bits="9"']
    )
    assert parsed == [
        ("foo", [("a", "1"), ("b", 'x"y')]),
        ("bar", []),
        ("permessage-deflate", [("client_max_window_bits", "9")]),
    ]


def test_parse_comma_inside_quoted_string() -> None:
    assert parse_extensions(['x; a="1,2", y']) == [("x", [("a", "1,2")]), ("y", [])]


@pytest.mark.parametrize(
    "value",
    [
        "permessage-deflate; ",
        "permessage-deflate;;",
        "permessage-deflate x",
        "permessage-deflate; a=",
        'permessage-deflate; a="unterminated',
        "permessage-deflate; a=b=c",
        "=permessage-deflate",
        "permessage-deflate; a=(1)",
    ],
)
def test_parse_rejects_malformed(value: str) -> None:
    with pytest.raises(ProtocolError, match="malformed Sec-WebSocket-Extensions") as info:
        parse_extensions([value])
    assert info.value.close_code == 1002


# --- accept ----------------------------------------------------------------------------------


def test_accept_plain() -> None:
    pmd = accept(["permessage-deflate"], DeflateParams(threshold=7))
    assert pmd is not None
    assert (pmd.client_no_context_takeover, pmd.server_no_context_takeover) == (False, False)
    assert (pmd.client_max_window_bits, pmd.server_max_window_bits) == (15, 15)
    assert pmd.threshold == 7


@pytest.mark.parametrize("values", [[], [""], [" , "]])
def test_accept_no_extension_means_declined(values: list[str]) -> None:
    assert accept(values, DeflateParams()) is None


def test_accept_applies_every_parameter() -> None:
    config = DeflateParams(client_max_window_bits=15, server_max_window_bits=12)
    pmd = accept(
        [
            "",
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
            'server_max_window_bits=10; client_max_window_bits="9"',
        ],
        config,
    )
    assert pmd is not None
    assert pmd.server_no_context_takeover and pmd.client_no_context_takeover
    assert (pmd.server_max_window_bits, pmd.client_max_window_bits) == (10, 9)


@pytest.mark.parametrize(
    ("answer", "attribute", "expected"),
    [
        ("server_no_context_takeover", "server_no_context_takeover", True),
        ("client_no_context_takeover", "client_no_context_takeover", True),
        ("server_max_window_bits=9", "server_max_window_bits", 9),
        ("client_max_window_bits=8", "client_max_window_bits", 8),
        ("client_max_window_bits=15", "client_max_window_bits", 15),
    ],
)
def test_accept_each_parameter(answer: str, attribute: str, expected: object) -> None:
    pmd = accept([f"permessage-deflate; {answer}"], DeflateParams())
    assert pmd is not None and getattr(pmd, attribute) == expected


def test_accept_server_max_window_bits_unasked() -> None:
    pmd = accept(["permessage-deflate; server_max_window_bits=8"], DeflateParams())
    assert pmd is not None and pmd.server_max_window_bits == 8


def test_accept_keeps_our_own_limits() -> None:
    # we offered client_max_window_bits=10: a larger answer cannot make us use more
    config = DeflateParams(client_max_window_bits=10, client_no_context_takeover=True)
    pmd = accept(["permessage-deflate; client_max_window_bits=12"], config)
    assert pmd is not None
    assert pmd.client_max_window_bits == 10
    assert pmd.client_no_context_takeover  # we may always drop our own context


def test_accept_lenient_on_unconfirmed_server_requests() -> None:
    config = DeflateParams(server_max_window_bits=10, server_no_context_takeover=True)
    pmd = accept(["permessage-deflate"], config)
    assert pmd is not None
    assert pmd.server_max_window_bits == 15 and not pmd.server_no_context_takeover


@pytest.mark.parametrize(
    ("values", "config", "problem"),
    [
        (["x-webkit-deflate-frame"], DeflateParams(), "'x-webkit-deflate-frame', which we"),
        (["permessage-deflate, foo"], DeflateParams(), "'foo', which we did not offer"),
        (["permessage-deflate", "permessage-deflate"], DeflateParams(), "appears 2 times"),
        (["permessage-deflate; mystery"], DeflateParams(), "unknown parameter 'mystery'"),
        (["permessage-deflate; mystery=1"], DeflateParams(), "unknown parameter 'mystery'"),
        (
            ["permessage-deflate; server_no_context_takeover; server_no_context_takeover"],
            DeflateParams(),
            "server_no_context_takeover appears twice",
        ),
        (
            ["permessage-deflate; client_max_window_bits=9; client_max_window_bits=9"],
            DeflateParams(),
            "client_max_window_bits appears twice",
        ),
        (
            ["permessage-deflate; server_no_context_takeover=1"],
            DeflateParams(),
            "server_no_context_takeover takes no value",
        ),
        (
            ['permessage-deflate; client_no_context_takeover=""'],
            DeflateParams(),
            "client_no_context_takeover takes no value",
        ),
        (["permessage-deflate; server_max_window_bits"], DeflateParams(), "needs a value"),
        (["permessage-deflate; client_max_window_bits"], DeflateParams(), "needs a value"),
        (["permessage-deflate; server_max_window_bits=7"], DeflateParams(), "'7' is not"),
        (["permessage-deflate; server_max_window_bits=16"], DeflateParams(), "'16' is not"),
        (["permessage-deflate; server_max_window_bits=010"], DeflateParams(), "'010' is"),
        (["permessage-deflate; client_max_window_bits=1a"], DeflateParams(), "'1a' is not"),
        (['permessage-deflate; client_max_window_bits=" 9"'], DeflateParams(), "' 9' is"),
        (
            ["permessage-deflate; client_max_window_bits=10"],
            DeflateParams(client_max_window_bits=None),
            "client_max_window_bits answered, but we did not offer it",
        ),
        (
            ["permessage-deflate; server_max_window_bits=11"],
            DeflateParams(server_max_window_bits=10),
            "server_max_window_bits=11 is larger than the 10 we asked for",
        ),
    ],
)
def test_accept_rejects(values: list[str], config: DeflateParams, problem: str) -> None:
    with pytest.raises(ProtocolError) as info:
        accept(values, config)
    assert problem in str(info.value)
    assert info.value.close_code == 1010


def test_accept_rejects_bad_syntax_with_1002() -> None:
    with pytest.raises(ProtocolError) as info:
        accept(["permessage-deflate; server_max_window_bits=(9)"], DeflateParams())
    assert info.value.close_code == 1002


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
    with pytest.raises(ProtocolError, match="after the final deflate block") as info:
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


# --- size limits and bombs -------------------------------------------------------------------


def zero_bomb(inflated_mib: int) -> bytes:
    """Deflate data that inflates to `inflated_mib` MiB of zeros (ratio about 1030:1).

    4 MiB compress to 4 KiB; sync-flushed chunks concatenate into one valid stream.
    """
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
    chunk = compressor.compress(bytes(4 * MiB)) + compressor.flush(zlib.Z_SYNC_FLUSH)
    return (chunk * (inflated_mib // 4))[:-4]


def test_exact_limit_passes_one_more_byte_fails() -> None:
    sender, receiver = pair(False, 15)
    message = b"abc" * 10_000
    assert receiver.decompress(sender.compress(message), True, len(message)) == message
    with pytest.raises(MessageTooLarge) as info:
        receiver.decompress(sender.compress(message), True, len(message) - 1)
    assert info.value.size == len(message) and info.value.max_size == len(message) - 1
    assert info.value.close_code == 1009


def test_limit_counts_the_whole_message_across_frames() -> None:
    sender, receiver = pair(False, 15)
    message = bytes(range(256)) * 100  # 25600 bytes
    frames = split(sender.compress(message), [50, 100, 150, 200])
    assert len(frames) == 5
    got = [receiver.decompress(f, i == 4, len(message)) for i, f in enumerate(frames)]
    assert b"".join(got) == message
    frames = split(sender.compress(message), [50, 100, 150, 200])
    with pytest.raises(MessageTooLarge):
        for i, f in enumerate(frames):
            receiver.decompress(f, i == 4, len(message) - 1)


def test_small_bomb_is_refused() -> None:
    bomb = zero_bomb(4)
    assert len(bomb) < 5000
    with pytest.raises(MessageTooLarge) as info:
        PerMessageDeflate().decompress(bomb, True, MiB)
    assert info.value.size == MiB + 1


@pytest.mark.parametrize("fragmented", [False, True])
def test_gigabyte_bomb_stays_within_memory(fragmented: bool) -> None:
    bomb = zero_bomb(1024)  # 1 MiB of deflate data -> 1 GiB; deflate cannot do better than ~1030:1
    frames = split(bomb, list(range(4096, len(bomb), 4096))) if fragmented else [bomb]
    receiver = PerMessageDeflate()
    tracemalloc.start()
    try:
        with pytest.raises(MessageTooLarge):
            for i, frame in enumerate(frames):
                receiver.decompress(frame, i == len(frames) - 1, MiB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * MiB, peak
    if fragmented:
        assert i < 300  # refused after about 1 MiB of output, not at the end of the stream


def test_no_limit_when_max_size_is_none() -> None:
    sender, receiver = pair(False, 15)
    message = bytes(3 * MiB)
    assert receiver.decompress(sender.compress(message), True, None) == message


def test_repr_names_the_negotiated_parameters() -> None:
    text = repr(PerMessageDeflate(server_no_context_takeover=True, client_max_window_bits=9))
    assert "server_no_context_takeover=True" in text and "client_max_window_bits=9" in text
